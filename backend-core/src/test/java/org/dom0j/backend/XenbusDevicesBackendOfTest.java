package org.dom0j.backend;

import org.dom0j.toolstack.DeviceHotplug;
import org.dom0j.toolstack.XenbusDevices;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link XenbusDevices#backendOf}: the backend a device's frontend names is taken only when it is a dom0 backend
 * directory of that device that names the frontend back (the guest owns the frontend and may write anything there).
 */
class XenbusDevicesBackendOfTest
{
    private static final String FE = "/local/domain/5/device/vbd/51728";

    @Test
    void shouldFollowTheFrontendToABackendOfAnotherTypeThatNamesItBack()
    {
        final InMemoryXenStore xs = new InMemoryXenStore();
        XenbusDevices.attach(xs, 0, "dom0j-vbd", "vbd", 5, "51728", Map.of("params", "/srv/d.img"), Map.of());

        assertThat(XenbusDevices.backendOf(xs, "vbd", 5, "51728"))
            .isEqualTo("/local/domain/0/backend/dom0j-vbd/5/51728");
    }

    @Test
    void shouldNotFollowWhatTheGuestWroteWhenTheBackendDoesNotNameItsFrontend()
    {
        final InMemoryXenStore xs = new InMemoryXenStore();
        XenbusDevices.attach(xs, 0, "vbd", 5, "51728", Map.of("params", "/srv/d.img"), Map.of());
        // Another of the guest's own backend directories, of the same number, that belongs to another frontend.
        xs.write("/local/domain/0/backend/qdisk/5/51728/frontend", "/local/domain/5/device/vkbd/51728");
        final String ours = "/local/domain/0/backend/vbd/5/51728";

        for (final String forged : new String[]{ "/local/domain/0/backend/qdisk/5/51728",
            "/local/domain/0/backend/vbd/6/51728", "/local/domain/0/backend/../backend/vbd/5/51728",
            "/local/domain/7/backend/vbd/5/51728", "/local/domain/0/backend/Vbd/5/51728" })
        {
            xs.write(FE + "/backend", forged);
            assertThat(XenbusDevices.backendOf(xs, "vbd", 5, "51728")).as(forged).isEqualTo(ours);
            // block-list shows the backend it read the states from, not the forged one
            assertThat(DeviceHotplug.list(xs, "vbd", 5)).singleElement()
                .satisfies(d -> assertThat(d.backendPath()).as(forged).isEqualTo(ours));
        }
        xs.rm(FE + "/backend");
        assertThat(XenbusDevices.backendOf(xs, "vbd", 5, "51728")).isEqualTo(ours);
    }

    @Test
    void shouldTakeOnlyTypeNamesThatAreOnePathElement()
    {
        assertThat(XenbusDevices.isTypeName("vbd")).isTrue();
        assertThat(XenbusDevices.isTypeName("dom0j-vbd")).isTrue();
        assertThat(XenbusDevices.isTypeName("a" + "b".repeat(31))).isTrue();
        final String[] bads = { "", "a" + "b".repeat(32), "Vbd", "1vbd", "-vbd", "vbd/x", "vbd x", "v.d" };
        for (final String bad : bads)
        {
            assertThat(XenbusDevices.isTypeName(bad)).as("'%s'", bad).isFalse();
        }
        assertThat(XenbusDevices.isTypeName(null)).isFalse();
    }
}
