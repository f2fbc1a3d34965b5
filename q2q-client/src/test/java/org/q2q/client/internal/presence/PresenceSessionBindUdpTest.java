package org.q2q.client.internal.presence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.netty.channel.DefaultEventLoop;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.certstore.Address;
import org.q2q.certstore.Identity;
import org.q2q.client.ServerAddress;
import org.q2q.client.internal.grpc.PresenceChannels;
import org.q2q.proto.BindUdpQuery;
import org.q2q.proto.BindUdpRequest;
import org.q2q.proto.HostPort;
import org.q2q.proto.InboundAnswer;
import org.q2q.proto.InboundQuery;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayOpen;
import org.q2q.server.LoopbackServer;

/** The listening client's BindUdp hook, against a real presence server over TLS on loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PresenceSessionBindUdpTest {
  private static final HostPort CANDIDATE = HostPort.newBuilder().setHost("198.51.100.7").setPort(41000).build();
  private LoopbackServer server;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private DefaultEventLoop loop;

  @BeforeEach
  void start() throws Exception {
    server = LoopbackServer.start();
    loop = new DefaultEventLoop();
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    channels.forEach(ManagedChannel::shutdownNow);
    loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    server.close();
  }

  private ManagedChannel channel(Identity who) {
    Address domain = Address.ofDomain("localhost");
    ManagedChannel c = PresenceChannels.open(new ServerAddress("127.0.0.1", server.server().port()), domain,
        PresenceChannels.trustingCa(domain, server.server().ca().certificate(), Clock.systemUTC()), who);
    channels.add(c);
    return c;
  }

  /** bob listens for "file" with {@code handler}. */
  private void listen(PresenceSession.Handler handler) throws Exception {
    PresenceSession s = new PresenceSession("bob@localhost",
        PresenceGrpc.newStub(channel(server.issueIdentity("bob@localhost"))), loop, Clock.systemUTC(),
        new PresenceSession.Timing(Duration.ofSeconds(15), Duration.ofSeconds(45), Duration.ofMillis(100),
            Duration.ofSeconds(2)),
        handler, () -> {});
    closeables.add(s);
    s.offer("file", "files").get(20, TimeUnit.SECONDS);
  }

  private static class Accepting implements PresenceSession.Handler {
    @Override
    public CompletableFuture<InboundAnswer> inboundQuery(InboundQuery query) {
      return CompletableFuture.completedFuture(
          InboundAnswer.newBuilder().setQueryId(query.getQueryId()).setAccept(true).build());
    }

    @Override
    public void relayOpen(RelayOpen notice) {}
  }

  private String inbound(PresenceGrpc.PresenceBlockingStub alice) {
    return alice.withDeadlineAfter(20, TimeUnit.SECONDS).inbound(InboundRequest.newBuilder()
        .setTo("bob@localhost").setService("file").addUdpCandidates(CANDIDATE).build()).getListeners(0).getId();
  }

  @Test
  void aBindUdpQueryReachesTheHandlerAndItsAnswerGoesBack() throws Exception {
    LinkedBlockingQueue<BindUdpQuery> asked = new LinkedBlockingQueue<>();
    listen(new Accepting() {
      @Override
      public CompletableFuture<String> bindUdp(BindUdpQuery query) {
        asked.add(query);
        return CompletableFuture.completedFuture(query.getUdpDestination().getPort() == 41000 ? "" : "unexpected");
      }
    });
    PresenceGrpc.PresenceBlockingStub alice = PresenceGrpc.newBlockingStub(channel(server.issueIdentity("alice@localhost")));
    String id = inbound(alice);
    alice.withDeadlineAfter(20, TimeUnit.SECONDS)
        .bindUdp(BindUdpRequest.newBuilder().setListenerId(id).setUdpDestination(CANDIDATE).build());
    BindUdpQuery q = asked.poll(5, TimeUnit.SECONDS);
    assertThat(q.getListenerId()).isEqualTo(id);
    assertThat(q.getFrom()).isEqualTo("alice@localhost");
    assertThat(q.getUdpDestination()).isEqualTo(CANDIDATE);
  }

  @Test
  void theDefaultHandlerRefusesClearly() throws Exception {
    listen(new Accepting());
    PresenceGrpc.PresenceBlockingStub alice = PresenceGrpc.newBlockingStub(channel(server.issueIdentity("alice@localhost")));
    String id = inbound(alice);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> alice.withDeadlineAfter(20, TimeUnit.SECONDS)
        .bindUdp(BindUdpRequest.newBuilder().setListenerId(id).setUdpDestination(CANDIDATE).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.getStatus().getDescription()).contains("not supported");
  }
}
