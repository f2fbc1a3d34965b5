package org.q2q.server.internal.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.CertificateAuthority;
import org.q2q.certstore.Identity;
import org.q2q.server.internal.tls.ServerTls;

/** Links to the domain's other nodes: one per node, and none kept for a node that left. */
@Timeout(30)
class NodeLinksTest {
  private final Address domain = Address.parse("localhost");
  private final CertificateAuthority ca = CertificateAuthority.create(domain, Clock.systemUTC());
  private final Identity server = ServerTls.issueIdentity(ca, "127.0.0.1");

  private static ManagedChannel channel(NodeLinks links, Node n) {
    return (ManagedChannel) links.stub(n).getChannel();
  }

  @Test
  void aNodeThatLeftHasItsLinkClosedAndTheOthersKeepTheirs() {
    Node a = new Node(Node.newId(), "127.0.0.1", 1, 2);
    Node b = new Node(Node.newId(), "127.0.0.1", 3, 4); // e.g. a restarted node: a new id
    try (NodeLinks links = new NodeLinks(domain, ca.certificate(), () -> server, Runnable::run)) {
      ManagedChannel toA = channel(links, a);
      ManagedChannel toB = channel(links, b);
      assertThat(channel(links, a)).isSameAs(toA); // one link per node

      links.retainOnly(List.of(a));

      assertThat(toB.isShutdown()).isTrue();
      assertThat(toA.isShutdown()).isFalse();
      assertThat(channel(links, a)).isSameAs(toA);
      assertThat(channel(links, b)).isNotSameAs(toB); // back again: a new link
    }
  }
}
