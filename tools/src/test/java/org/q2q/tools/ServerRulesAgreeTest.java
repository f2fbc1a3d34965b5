package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.Address;
import org.q2q.client.ServerAddress;
import org.q2q.client.ServerLocator;
import org.q2q.server.presence.DomainServerLocator;

/**
 * One rule for {@code Q2Q_SERVERS} and the default port: the client (where its own and other
 * domains' servers are) and the presence server (where federation looks) read every value the same
 * way, a domain named several times giving the same nodes in the same order. They used to
 * disagree: the server refused an entry without a port, accepted an unbracketed IPv6 literal, and
 * let the last duplicate win; the client ignored a malformed entry of another domain.
 */
class ServerRulesAgreeTest {
  private static final Address DOMAIN = Address.parse("a.test");

  /** "host:port" for each server in order, separated by spaces, or "error" if the value is refused. */
  private static String client(String value) {
    try {
      List<ServerAddress> all = new ServerLocator(value == null ? Map.of() : Map.of("Q2Q_SERVERS", value))
          .locate(DOMAIN, Optional.empty());
      return String.join(" ", all.stream().map(a -> a.host() + ":" + a.port()).toList());
    } catch (IllegalArgumentException e) {
      return "error";
    }
  }

  private static String server(String value) {
    try {
      List<InetSocketAddress> all = DomainServerLocator.fromServersVariable(value).locateAll(DOMAIN.domain());
      return String.join(" ", all.stream().map(a -> a.getHostString() + ":" + a.getPort()).toList());
    } catch (IllegalArgumentException e) {
      return "error";
    }
  }

  @Test
  void clientAndServerReadServersTheSameWay() {
    Map<String, String> expected = new java.util.LinkedHashMap<>();
    expected.put(null, "a.test:8788");
    expected.put("", "a.test:8788");
    expected.put("a.test=10.0.0.5:9000", "10.0.0.5:9000");
    expected.put(" A.Test = h.example:9 ", "h.example:9");
    expected.put("a.test=h.example", "h.example:8788");
    expected.put("a.test=[::1]:9000", "::1:9000");
    expected.put("a.test=[::1]", "::1:8788");
    expected.put("a.test=::1:9000", "error");
    expected.put("a.test=h:1,a.test=h:2", "h:1 h:2");
    expected.put("a.test=10.0.0.5:8788, b.test=h:1, a.test=[::1]", "10.0.0.5:8788 ::1:8788");
    expected.put("a.test=h:1,a.test=h:1", "h:1");
    expected.put("b.test=h:1", "a.test:8788");
    expected.put("b.test=h:http,a.test=h:1", "error");
    expected.put("a.test", "error");
    expected.put("a.test=h:70000", "error");
    expected.put("a.test=:9", "error");
    expected.forEach((value, where) -> {
      assertThat(client(value)).as("client, Q2Q_SERVERS=%s", value).isEqualTo(where);
      assertThat(server(value)).as("server, Q2Q_SERVERS=%s", value).isEqualTo(where);
    });
  }
}
