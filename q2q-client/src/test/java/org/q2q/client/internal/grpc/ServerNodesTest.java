package org.q2q.client.internal.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.q2q.certstore.Address;
import org.q2q.client.ServerAddress;
import org.q2q.proto.HostPort;

/** The order a domain's nodes are tried in: the nodes a node named, then the configured ones. */
class ServerNodesTest {
  private static HostPort hp(String host, int port) {
    return HostPort.newBuilder().setHost(host).setPort(port).build();
  }

  @Test
  void learnedNodesComeFirstAndConfiguredOnesAreKept() {
    ServerNodes nodes = new ServerNodes(Address.ofDomain("example.com"),
        List.of(new ServerAddress("example.com", 8788), new ServerAddress("10.0.0.6", 8788)));
    AtomicInteger changes = new AtomicInteger();
    nodes.onChange(changes::incrementAndGet);
    assertThat(nodes.current()).isEqualTo(new ServerAddress("example.com", 8788)); // none reached yet

    assertThat(nodes.learn(List.of(hp("10.0.0.5", 8788), hp("10.0.0.6", 8788), hp("0.0.0.0", 8788), hp("::", 1),
        hp("10.0.0.7", 0), hp("", 8788)))).isTrue();
    assertThat(nodes.all()).containsExactly(new ServerAddress("10.0.0.5", 8788), new ServerAddress("10.0.0.6", 8788),
        new ServerAddress("example.com", 8788));
    assertThat(nodes.learn(List.of(hp("10.0.0.5", 8788), hp("10.0.0.6", 8788)))).isFalse(); // the same again
    assertThat(changes).hasValue(1);

    // a node that names no usable node (or a server without Nodes) leaves the configured ones
    assertThat(nodes.learn(List.of(hp("0.0.0.0", 8788)))).isTrue();
    assertThat(nodes.all()).isEqualTo(nodes.configured());
  }
}
