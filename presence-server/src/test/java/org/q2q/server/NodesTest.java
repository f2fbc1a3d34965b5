package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.ServerDirectory.Endpoint;
import org.q2q.proto.HostPort;
import org.q2q.proto.NodesRequest;
import org.q2q.proto.RegistrationGrpc;

/** Registration.Nodes: the domain's live nodes, without a client certificate. */
@Timeout(30)
class NodesTest {
  private static List<String> nodes(LoopbackServer s) throws Exception {
    ManagedChannel ch = TestChannels.open(s, null); // no client certificate needed
    try {
      return RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
          .nodes(NodesRequest.getDefaultInstance()).getNodesList().stream()
          .map((HostPort hp) -> hp.getHost() + ":" + hp.getPort()).toList();
    } finally {
      TestChannels.close(ch);
    }
  }

  @Test
  void withoutADirectoryANodeNamesItselfAtItsBindAddress() throws Exception {
    try (LoopbackServer s = LoopbackServer.start()) { // bound to 127.0.0.1
      assertThat(nodes(s)).containsExactly("127.0.0.1:" + s.port());
    }
  }

  @Test
  void boundToEveryInterfaceANodeNamesTheAddressTheCallerReached() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.bindHost(null))) {
      assertThat(nodes(s)).containsExactly("127.0.0.1:" + s.port());
    }
  }

  @Test
  void aDirectoryGivesTheListItHoldsAtEachCall() throws Exception {
    AtomicReference<List<Endpoint>> live = new AtomicReference<>(
        List.of(new Endpoint("10.0.0.5", 8788), new Endpoint("node2.example.com", 9000)));
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.nodes(live::get))) {
      assertThat(nodes(s)).containsExactly("10.0.0.5:8788", "node2.example.com:9000");
      live.set(List.of(new Endpoint("::1", 8788)));
      assertThat(nodes(s)).containsExactly("::1:8788");
    }
  }
}
