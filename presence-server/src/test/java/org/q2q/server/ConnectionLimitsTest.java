package org.q2q.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.proto.IdentifyRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.ListenUp;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RegistrationGrpc;

/**
 * M5, abuse: idle TLS connections, slowloris handshakes and many streams on one connection, with
 * real sockets on loopback (the attackers come from 127.0.0.2 and 127.0.0.3, other client networks
 * on Linux's loopback). Each bound holds and a well-behaved client from 127.0.0.1 is served.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConnectionLimitsTest {

  private static SSLContext trustAll() throws Exception {
    SSLContext c = SSLContext.getInstance("TLS");
    c.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, new SecureRandom());
    return c;
  }

  private static Socket connectFrom(String local, int port) throws IOException {
    Socket s = new Socket();
    s.bind(new InetSocketAddress(local, 0));
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    return s;
  }

  /** A well-behaved client: Identify on a fresh channel, within 5 s. */
  private static void assertServed(LoopbackServer s) throws Exception {
    ManagedChannel ch = TestChannels.open(s, null);
    try {
      long t0 = System.nanoTime();
      assertThat(RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
          .identify(IdentifyRequest.newBuilder().setSubject("localhost").build()).getDomain()).isEqualTo("localhost");
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5000);
    } finally {
      TestChannels.close(ch);
    }
  }

  private static void await(Duration timeout, String what, BooleanSupplier ok) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!ok.getAsBoolean()) {
      assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
      Thread.sleep(20); // polling interval
    }
  }

  @Test
  void aThousandIdleTlsConnectionsAreCappedPerNetwork() throws Exception {
    int threadsBefore = Thread.activeCount();
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.connectionLimits(ConnectionLimits.defaults()
        .withConnections(100, 10_000).withTimeouts(Duration.ofMinutes(5), Duration.ofSeconds(60))))) {
      SSLContext tls = trustAll();
      List<Socket> open = new ArrayList<>();
      int handshakes = 0;
      int maxOpen = 0;
      try {
        for (int i = 0; i < 1000; i++) {
          Socket raw = connectFrom("127.0.0.2", s.port());
          open.add(raw);
          raw.setSoTimeout(5000);
          try {
            SSLSocket t = (SSLSocket) tls.getSocketFactory().createSocket(raw, "localhost", s.port(), true);
            javax.net.ssl.SSLParameters p = t.getSSLParameters();
            p.setApplicationProtocols(new String[] {"h2"}); // else gRPC closes it right after TLS
            t.setSSLParameters(p);
            t.startHandshake();
            open.add(t);
            handshakes++;
          } catch (IOException refused) {
            // closed by the server before TLS: past the cap
          }
          maxOpen = Math.max(maxOpen, s.server().openConnections());
        }
        assertThat(handshakes).isBetween(1, 100);
        assertThat(maxOpen).isLessThanOrEqualTo(100);
        assertServed(s);
        assertThat(Thread.activeCount() - threadsBefore).as("threads grown").isLessThan(40);
      } finally {
        for (Socket x : open) {
          x.close();
        }
      }
      await(Duration.ofSeconds(20), "the server to count them closed", () -> s.server().openConnections() == 0);
    }
  }

  @Test
  void theServerWideConnectionCapHolds() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.connectionLimits(ConnectionLimits.defaults()
        .withConnections(256, 5)))) {
      List<Socket> open = new ArrayList<>();
      try {
        for (int i = 0; i < 20; i++) {
          open.add(connectFrom(i % 2 == 0 ? "127.0.0.2" : "127.0.0.3", s.port())); // two networks
        }
        await(Duration.ofSeconds(10), "the server to see them", () -> s.server().openConnections() == 5);
        Thread.sleep(200); // no more get in
        assertThat(s.server().openConnections()).isEqualTo(5);
      } finally {
        for (Socket x : open) {
          x.close();
        }
      }
      await(Duration.ofSeconds(10), "room again", () -> s.server().openConnections() == 0);
      assertServed(s);
    }
  }

  @Test
  void connectionsWithoutCallsAreClosedWhenIdle() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.connectionLimits(ConnectionLimits.defaults()
        .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(10))))) {
      // gRPC connections without calls are closed by the server after the idle time (1 s here)
      List<ManagedChannel> idle = new ArrayList<>();
      try {
        for (int i = 0; i < 20; i++) {
          ManagedChannel ch = TestChannels.open(s, null);
          idle.add(ch);
          RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(5, TimeUnit.SECONDS)
              .identify(IdentifyRequest.newBuilder().setSubject("localhost").build());
        }
        assertThat(s.server().openConnections()).isGreaterThan(10); // the first may be idle for 1 s already
        await(Duration.ofSeconds(20), "idle connections closed", () -> s.server().openConnections() == 0);
      } finally {
        for (ManagedChannel ch : idle) {
          TestChannels.close(ch);
        }
      }
    }
  }

  @Test
  void slowlorisHandshakesAreCutOffAndCapped() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost", b -> b.connectionLimits(ConnectionLimits.defaults()
        .withConnections(50, 10_000).withTimeouts(Duration.ofMinutes(5), Duration.ofSeconds(1))))) {
      List<Socket> slow = new ArrayList<>();
      try {
        for (int i = 0; i < 200; i++) {
          Socket x = connectFrom("127.0.0.3", s.port());
          x.setSoTimeout(1);
          slow.add(x);
          x.getOutputStream().write(new byte[] {0x16, 0x03, 0x01}); // a TLS record header, then a trickle
        }
        int maxOpen = 0;
        long t0 = System.nanoTime();
        int closed = 0;
        boolean[] gone = new boolean[slow.size()];
        while (closed < slow.size() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
          for (int i = 0; i < slow.size(); i++) {
            if (gone[i]) {
              continue;
            }
            try {
              OutputStream o = slow.get(i).getOutputStream();
              o.write(0x00);
              InputStream in = slow.get(i).getInputStream();
              if (in.read() < 0) {
                gone[i] = true;
                closed++;
              }
            } catch (SocketTimeoutException stillOpen) {
              // the server has not closed it yet
            } catch (IOException reset) {
              gone[i] = true;
              closed++;
            }
          }
          maxOpen = Math.max(maxOpen, s.server().openConnections());
          assertServed(s);
          Thread.sleep(200); // the trickle's pace
        }
        assertThat(closed).as("slow handshakes closed by the server").isEqualTo(slow.size());
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(8000);
        assertThat(maxOpen).isLessThanOrEqualTo(50 + 1); // + the well-behaved client's
      } finally {
        for (Socket x : slow) {
          x.close();
        }
      }
    }
  }

  @Test
  void callsPerConnectionAreCapped() throws Exception {
    try (LoopbackServer s = LoopbackServer.start("localhost",
        b -> b.connectionLimits(ConnectionLimits.defaults().withCallsPerConnection(4)))) {
      ManagedChannel ch = TestChannels.open(s, s.issueIdentity("bob@localhost"));
      try {
        List<StreamObserver<ListenUp>> streams = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          streams.add(PresenceGrpc.newStub(ch).listen(new StreamObserver<ListenDown>() {
            @Override
            public void onNext(ListenDown d) {}

            @Override
            public void onError(Throwable t) {}

            @Override
            public void onCompleted() {}
          }));
        }
        await(Duration.ofSeconds(10), "4 sessions", () -> s.server().presence().listenSessions() == 4);
        Thread.sleep(300); // the other two stay queued at the client (HTTP/2 MAX_CONCURRENT_STREAMS)
        assertThat(s.server().presence().listenSessions()).isEqualTo(4);
        streams.get(0).onCompleted();
        await(Duration.ofSeconds(10), "a queued stream takes the free place",
            () -> s.server().presence().listenSessions() == 4 && streams.size() == 6);
      } finally {
        TestChannels.close(ch);
      }
    }
  }
}
