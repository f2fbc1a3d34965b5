package org.q2q.server.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.proto.BindUdpAnswer;
import org.q2q.proto.BindUdpQuery;
import org.q2q.proto.BindUdpRequest;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.PresenceGrpc;
import org.q2q.server.LoopbackServer;
import org.q2q.server.internal.presence.BindUdpForwarder;

/**
 * BindUdp through a real PresenceServer over TLS on 127.0.0.1: only between the two parties of a
 * live Inbound, only toward the udp_candidates that Inbound announced.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BindUdpNetworkTest {
  private static final HostPort V4 = hp("198.51.100.7", 41000);
  private static final HostPort V6 = hp("2001:db8::7", 41000);
  private LoopbackServer server;
  private TlsChannels channels;
  private PresenceGrpc.PresenceBlockingStub alice;
  private PresenceGrpc.PresenceBlockingStub mallory;
  private TestListener bob;

  private static HostPort hp(String host, int port) {
    return HostPort.newBuilder().setHost(host).setPort(port).build();
  }

  @BeforeEach
  void start() throws Exception {
    server = LoopbackServer.start("example.com", b -> {});
    channels = new TlsChannels();
    alice = PresenceGrpc.newBlockingStub(channels.open(server.server(), server.issueIdentity("alice@example.com")));
    mallory = PresenceGrpc.newBlockingStub(channels.open(server.server(), server.issueIdentity("mallory@example.com")));
    bob = new TestListener(PresenceGrpc.newStub(channels.open(server.server(), server.issueIdentity("bob@example.com"))));
    bob.offer("file");
  }

  @AfterEach
  void stop() throws Exception {
    channels.close();
    server.close();
  }

  private String inbound(HostPort... candidates) {
    InboundRequest.Builder r = InboundRequest.newBuilder().setTo("bob@example.com").setService("file");
    for (HostPort c : candidates) {
      r.addUdpCandidates(c);
    }
    return alice.withDeadlineAfter(20, TimeUnit.SECONDS).inbound(r.build()).getListeners(0).getId();
  }

  private static BindUdpRequest bind(String id, HostPort to) {
    return BindUdpRequest.newBuilder().setListenerId(id).setUdpDestination(to).build();
  }

  private static Status refused(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run).getStatus();
  }

  @Test
  void aBindUdpTowardAnAnnouncedCandidateReachesTheListenerAndIsAnswered() throws Exception {
    String id = inbound(V4, V6);
    alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, V4));
    BindUdpQuery q = bob.next(ListenDown.KindCase.BIND_UDP_QUERY).getBindUdpQuery();
    assertThat(q.getListenerId()).isEqualTo(id);
    assertThat(q.getFrom()).isEqualTo("alice@example.com");
    assertThat(q.getUdpDestination()).isEqualTo(V4);
    // the IPv6 candidate, spelled differently, is the same address
    alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, hp("2001:0db8:0:0:0:0:0:7", 41000)));
    BindUdpQuery q6 = bob.next(ListenDown.KindCase.BIND_UDP_QUERY).getBindUdpQuery();
    assertThat(q6.getUdpDestination().getPort()).isEqualTo(41000);
    assertThat(java.net.InetAddress.getByName(q6.getUdpDestination().getHost()))
        .isEqualTo(java.net.InetAddress.getByName("2001:db8::7"));
  }

  @Test
  void aBindUdpTowardAnAddressTheInboundDidNotAnnounceIsRefused() throws Exception {
    String id = inbound(V4);
    Status s = refused(() -> alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, hp("192.0.2.99", 41000))));
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(s.getDescription()).contains("192.0.2.99:41000").contains("not one of the udp_candidates");
    // same host, another port: refused too
    s = refused(() -> alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, hp("198.51.100.7", 41001))));
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    // an Inbound without candidates allows no BindUdp at all
    String bare = inbound();
    s = refused(() -> alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(bare, V4)));
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    // the listener was never asked
    assertThat(bindUdpQueryWithin(300)).isFalse();
  }

  @Test
  void onlyTheConnectorOfALiveInboundMayUseItsId() throws Exception {
    String id = inbound(V4);
    Status s = refused(() -> mallory.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, V4)));
    assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    s = refused(() -> alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind("no-such-id", V4)));
    assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(bindUdpQueryWithin(300)).isFalse();
  }

  @Test
  void namesBadPortsAndHugeHostsAreInvalid() throws Exception {
    String id = inbound(V4);
    for (HostPort bad : new HostPort[] {hp("example.org", 41000), hp("198.51.100.7", 0), hp("198.51.100.7", 70000),
        hp("x".repeat(10_000), 1), hp("[::1]", 41000), hp("fe80::1%eth0", 41000), hp("999.1.1.1", 41000),
        hp("1:2:3", 41000), hp("", 41000)}) {
      Status s = refused(() -> alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, bad)));
      assertThat(s.getCode()).as("%s", bad).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(s.getDescription()).hasSizeLessThan(300);
    }
    // Inbound refuses such candidates up front
    Status s = refused(() -> inbound(hp("evil.example", 53)));
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).contains("not an IP address literal");
  }

  @Test
  void oneIdAllowsABoundedNumberOfBindUdpCalls() throws Exception {
    String id = inbound(V4);
    for (int i = 0; i < BindUdpForwarder.MAX_CALLS_PER_ID; i++) {
      alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, V4));
    }
    Status s = refused(() -> alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, V4)));
    assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void theListenersErrorAndALeftListenerAreUnavailable() throws Exception {
    String id = inbound(V4);
    bob.bindUdpPolicy = q -> BindUdpAnswer.newBuilder().setError("no UDP socket").build();
    Status s = refused(() -> alice.withDeadlineAfter(20, TimeUnit.SECONDS).bindUdp(bind(id, V4)));
    assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(s.getDescription()).contains("no UDP socket");
    bob.complete();
    bob.awaitClosed(); // the server ended the session
    assertThat(bindFails(id)).isTrue();
  }

  @Test
  void anAnswerOfTheWrongTypeIsIgnoredAndTheRightOneStillCounts() throws Exception {
    bob.policy = q -> null; // answer by hand
    java.util.concurrent.CompletableFuture<String> id = java.util.concurrent.CompletableFuture.supplyAsync(() -> inbound(V4));
    org.q2q.proto.InboundQuery q = bob.queries.poll(10, TimeUnit.SECONDS);
    assertThat(q).isNotNull();
    bob.send(org.q2q.proto.ListenUp.newBuilder()
        .setBindUdpAnswer(BindUdpAnswer.newBuilder().setQueryId(q.getQueryId())).build());
    bob.send(org.q2q.proto.ListenUp.newBuilder()
        .setInboundAnswer(org.q2q.proto.InboundAnswer.newBuilder().setQueryId(q.getQueryId()).setAccept(true)).build());
    assertThat(id.get(20, TimeUnit.SECONDS)).isEqualTo(q.getListenerId());
  }

  /** Whether the listener got a BindUdpQuery within {@code millis}. */
  private boolean bindUdpQueryWithin(long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    ListenDown d;
    while ((d = bob.received.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) != null) {
      if (d.hasBindUdpQuery()) {
        return true;
      }
    }
    return false;
  }

  private boolean bindFails(String id) {
    try {
      alice.withDeadlineAfter(5, TimeUnit.SECONDS).bindUdp(bind(id, V4));
      return false;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode() == Status.Code.UNAVAILABLE
          && e.getStatus().getDescription().contains("stopped listening");
    }
  }
}
