package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.NodeInboundRequest;
import org.q2q.proto.NodeLinkGrpc;

/** The node link answers only the nodes of its domain: a user's certificate, or none, is refused. */
@Timeout(60)
class NodeLinkTest {
  private PostgresTestDatabase db;
  private LoopbackServer node;

  @BeforeEach
  void start() throws Exception {
    db = PostgresTestDatabase.create();
    node = LoopbackServer.start("localhost",
        b -> b.database(db.location()).advertise("127.0.0.1").fleetTiming(Duration.ofMillis(200), Duration.ofSeconds(1)));
  }

  @AfterEach
  void stop() throws Exception {
    if (node != null) {
      node.close();
    }
    if (db != null) {
      db.close();
    }
  }

  private static NodeInboundRequest forgedInbound() {
    return NodeInboundRequest.newBuilder()
        .setRequest(InboundRequest.newBuilder().setTo("bob@localhost").setService("file"))
        .setFrom("mallory@localhost")
        .build();
  }

  /** Calls the node link on {@code ch} with a forged Inbound and returns the status it refused it with. */
  private static Status.Code refusal(ManagedChannel ch) {
    try {
      NodeLinkGrpc.newBlockingStub(ch).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
          .inbound(forgedInbound());
      throw new AssertionError("the node link answered a forged Inbound");
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  @Test
  void aUserCertificateCannotCallTheNodeLink() throws Exception {
    ManagedChannel ch = TestChannels.open(node, node.issueIdentity("alice@localhost"));
    try {
      assertThatThrownBy(() -> NodeLinkGrpc.newBlockingStub(ch).inbound(forgedInbound()))
          .hasMessageContaining("only the nodes of localhost");
      assertThat(refusal(ch)).isEqualTo(Status.Code.PERMISSION_DENIED);
    } finally {
      TestChannels.close(ch);
    }
  }

  @Test
  void noCertificateCannotCallTheNodeLink() throws Exception {
    ManagedChannel ch = TestChannels.open(node, null);
    try {
      assertThat(refusal(ch)).isEqualTo(Status.Code.UNAUTHENTICATED);
    } finally {
      TestChannels.close(ch);
    }
  }

  @Test
  void aServerWithoutAFleetHasNoNodeLink() throws Exception {
    try (LoopbackServer alone = LoopbackServer.start()) {
      ManagedChannel ch = TestChannels.open(alone, alone.server().serverIdentity());
      try {
        assertThat(refusal(ch)).isEqualTo(Status.Code.UNIMPLEMENTED);
      } finally {
        TestChannels.close(ch);
      }
    }
  }
}
