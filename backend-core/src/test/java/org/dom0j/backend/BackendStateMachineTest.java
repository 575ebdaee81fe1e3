package org.dom0j.backend;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The legal backend paths, as a table: each target is reached through every state a frontend must see.
 */
@Timeout(10)
class BackendStateMachineTest
{
    @ParameterizedTest(name = "{0} -> {1}: {2}")
    @CsvSource(value = {
        "INITIALISING, INIT_WAIT, INIT_WAIT",
        "INITIALISING, CONNECTED, INIT_WAIT CONNECTED",
        "INITIALISING, CLOSED, CLOSING CLOSED",
        "INIT_WAIT, CONNECTED, CONNECTED",
        "INIT_WAIT, CLOSED, CLOSING CLOSED",
        "CONNECTED, CLOSING, CLOSING",
        "CONNECTED, CLOSED, CLOSING CLOSED",
        "CONNECTED, INIT_WAIT, CLOSING CLOSED INIT_WAIT",
        "CLOSING, CLOSED, CLOSED",
        "CLOSED, INIT_WAIT, INIT_WAIT",
        "CLOSED, CONNECTED, INIT_WAIT CONNECTED",
        "CLOSED, CLOSING, INIT_WAIT CLOSING",
        "CONNECTED, CONNECTED, ''",
        "UNKNOWN, INIT_WAIT, INITIALISING INIT_WAIT" })
    void shouldWalkTheLegalPath(final XenbusState from, final XenbusState to, final String path)
    {
        final BackendStateMachine machine = new BackendStateMachine(from);
        final List<XenbusState> written = new ArrayList<>();

        machine.transitionTo(to, written::add);

        final List<XenbusState> expected = path.isEmpty() ? List.of() :
            Arrays.stream(path.split(" ")).map(XenbusState::valueOf).toList();
        assertThat(written).containsExactlyElementsOf(expected);
        assertThat(machine.current()).isEqualTo(to);
        for (int i = 0; i < written.size(); i++)
        {
            assertThat(BackendStateMachine.isLegalStep(i == 0 ? from : written.get(i - 1), written.get(i))).isTrue();
        }
    }

    @Test
    void shouldRefuseAStateTheBackendNeverTakes()
    {
        assertThatThrownBy(() -> BackendStateMachine.path(XenbusState.CONNECTED, XenbusState.INITIALISED))
            .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> BackendStateMachine.path(XenbusState.CLOSED, XenbusState.RECONFIGURING))
            .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldStayAtTheLastStateWrittenWhenWritingFails()
    {
        final BackendStateMachine machine = new BackendStateMachine(XenbusState.CONNECTED);

        assertThatThrownBy(() -> machine.transitionTo(XenbusState.CLOSED, (s) ->
        {
            if (s == XenbusState.CLOSED)
            {
                throw new IllegalStateException("xenstore gone");
            }
        })).isInstanceOf(IllegalStateException.class);

        assertThat(machine.current()).isEqualTo(XenbusState.CLOSING);
    }
}
