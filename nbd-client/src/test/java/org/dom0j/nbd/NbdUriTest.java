package org.dom0j.nbd;

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The NBD URI forms of {@code doc/uri.md}, including its table of export names, and the errors for what this client
 * does not take.
 */
@Timeout(10)
class NbdUriTest
{
    @ParameterizedTest(name = "{0} -> host {1} port {2} export ''{3}''")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "nbd://example.com/disk             | example.com | 10809 | disk",
        "nbd://example.com/                 | example.com | 10809 | \"\"",
        "nbd://example.com                  | example.com | 10809 | \"\"",
        "nbd://example.com//disk            | example.com | 10809 | /disk",
        "nbd://example.com/hello%20world    | example.com | 10809 | hello world",
        "nbd://127.0.0.1:10810/a            | 127.0.0.1   | 10810 | a",
        "nbd://[::1]:2000/x                 | ::1         | 2000  | x",
        "NBD://Example.com/Disk             | Example.com | 10809 | Disk",
        "nbd://h/caf%C3%A9?x-debug=1        | h           | 10809 | café",
    })
    void shouldTakeHostPortAndExportNameFromATcpUri(
        final String uri, final String host, final int port, final String export)
    {
        final NbdUri parsed = NbdUri.parse(uri);

        assertThat(parsed.isUnix()).isFalse();
        assertThat(parsed.host()).isEqualTo(host);
        assertThat(parsed.port()).isEqualTo(port);
        assertThat(parsed.exportName()).isEqualTo(export);
        assertThat(parsed.socketPath()).isNull();
        assertThat(parsed.socketAddress()).isInstanceOf(InetSocketAddress.class);
        assertThat(parsed.toString()).isEqualTo(uri);
    }

    @ParameterizedTest(name = "{0} -> socket {1} export ''{2}''")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "nbd+unix:///disk?socket=/run/nbd.sock                | /run/nbd.sock   | disk",
        "nbd+unix:///?socket=nbd.sock                         | nbd.sock        | \"\"",
        "nbd+unix://?socket=/tmp/a%20b.sock                   | /tmp/a b.sock   | \"\"",
        "nbd+unix:///d?x-opt=1&socket=%2Ftmp%2Fs.sock         | /tmp/s.sock     | d",
    })
    void shouldTakeTheSocketAndExportNameFromAUnixUri(final String uri, final String socket, final String export)
    {
        final NbdUri parsed = NbdUri.parse(uri);

        assertThat(parsed.isUnix()).isTrue();
        assertThat(parsed.socketPath()).isEqualTo(Path.of(socket));
        assertThat(parsed.exportName()).isEqualTo(export);
        assertThat(parsed.host()).isNull();
        assertThat(parsed.socketAddress()).isEqualTo(UnixDomainSocketAddress.of(socket));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "http://example.com/disk                 | scheme 'http' is not supported",
        "nbds://example.com/disk                 | nbds asks for TLS, which this client does not support",
        "nbds+unix:///d?socket=/s                | nbds+unix asks for TLS",
        "nbd:disk                                | not an NBD URI",
        "/just/a/path                            | not an NBD URI",
        "nbd://                                  | not a valid URI: 'nbd://'",
        "nbd:///disk                             | needs a host",
        "nbd://h:0/d                             | port 0 is not in 1..65535",
        "nbd://user@h/d                          | user info ('user@') is only used for TLS",
        "nbd://h/d?socket=/s                     | the socket parameter is only for nbd+unix URIs",
        "nbd://h/d?tls-type=x509                 | query parameter 'tls-type' is for TLS",
        "nbd://h/d?colour=blue                   | unknown query parameter 'colour'",
        "nbd://h/d#frag                          | an NBD URI has no fragment",
        "nbd://h/a%00b                           | the export name contains a NUL character",
        "nbd://h/a%zz                            | not a valid URI",
        "nbd://h/a%4                             | not a valid URI",
        "nbd+unix:///d                           | needs the socket parameter",
        "nbd+unix://host/d?socket=/s             | an nbd+unix URI names no host ('host')",
        "nbd+unix:///d?socket=                   | the socket parameter is empty",
        "nbd+unix:///d?socket=/a&socket=/b       | the socket parameter is given twice",
        "nbd+unix:///?socket=%00/abstract        | abstract Unix sockets",
        "nbd+vsock:///d                          | scheme 'nbd+vsock' is not supported",
        "nbd://h h/d                             | not a valid URI",
    })
    void shouldRefuseAUriSayingWhatIsWrong(final String uri, final String message)
    {
        assertThatThrownBy(() -> NbdUri.parse(uri))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining(message);
    }

    @Test
    void shouldRefuseAnExportNameLongerThanTheProtocolAllows()
    {
        final String name = "x".repeat(NbdConstants.MAX_STRING_LENGTH + 1);

        assertThatThrownBy(() -> NbdUri.parse("nbd://h/" + name))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("the export name is 4097 bytes long; NBD allows 4096");
        assertThat(NbdUri.parse("nbd://h/" + name.substring(1)).exportName()).hasSize(4096);
    }

    @Test
    void shouldBuildUrisThatParseBackToTheSameExportAndSocket()
    {
        final NbdUri unix = NbdUri.unix(Path.of("/tmp/dir with space/s.sock"), "dísk/1 & 2?");
        final NbdUri tcp = NbdUri.tcp("::1", 10900, "/abs");

        assertThat(unix.socketPath()).isEqualTo(Path.of("/tmp/dir with space/s.sock"));
        assertThat(unix.exportName()).isEqualTo("dísk/1 & 2?");
        assertThat(NbdUri.parse(unix.toString())).isEqualTo(unix);
        assertThat(tcp.host()).isEqualTo("::1");
        assertThat(tcp.port()).isEqualTo(10900);
        assertThat(tcp.exportName()).isEqualTo("/abs");
        assertThat(tcp.toString()).isEqualTo("nbd://[::1]:10900/%2Fabs");
    }
}
