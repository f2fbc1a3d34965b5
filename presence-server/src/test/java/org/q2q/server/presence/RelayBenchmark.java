package org.q2q.server.presence;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.ManagedChannel;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Identity;
import org.q2q.proto.InboundRequest;
import org.q2q.proto.ListenDown;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayRole;
import org.q2q.server.LoopbackServer;

/**
 * The relay alone, outside the test suite (not a test: figures depend on the machine). Starts a
 * real PresenceServer on 127.0.0.1 and gRPC clients over TLS in the same JVM, then reports:
 *
 * <ul>
 *   <li>throughput of one relayed transfer and of N concurrent ones (MB/s of payload);
 *   <li>a stalled-receiver run: N senders push into listeners that do not read; how much each sender
 *       got out before flow control stopped it, the relay's queued bytes (high-water mark) and the
 *       JVM heap growth (after GC) while stalled.
 * </ul>
 *
 * Run: {@code mvn -q -pl presence-server test-compile dependency:build-classpath -Dmdep.outputFile=cp.txt}
 * then {@code java -cp presence-server/target/test-classes:presence-server/target/classes:$(cat
 * presence-server/cp.txt) org.q2q.server.presence.RelayBenchmark [MiB per transfer=256]
 * [concurrency=8] [frame KiB=32] [window frames=4] [ready threshold KiB=128]}. Client and server share the JVM and the CPU, so the figures
 * are a lower bound for a real deployment.
 */
public final class RelayBenchmark {
  private RelayBenchmark() {}

  public static void main(String[] args) throws Exception {
    long mib = args.length > 0 ? Long.parseLong(args[0]) : 256;
    int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int frame = (args.length > 2 ? Integer.parseInt(args[2]) : 32) << 10;
    int window = args.length > 3 ? Integer.parseInt(args[3]) : PresenceConfig.defaults().relayWindowFrames();
    int ready = (args.length > 4 ? Integer.parseInt(args[4]) : PresenceConfig.defaults().relayReadyThresholdBytes() >> 10) << 10;
    System.out.printf("relay benchmark: %d MiB per transfer, %d concurrent, %d KiB frames, window %d frames,"
        + " ready threshold %d KiB%n", mib, concurrency, frame >> 10, window, ready >> 10);
    try (LoopbackServer server = LoopbackServer.start("example.com",
            b -> b.presence(PresenceConfig.defaults().withRelayWindow(window, ready)));
        TlsChannels channels = new TlsChannels()) {
      Identity alice = server.issueIdentity("alice@example.com");
      Identity bob = server.issueIdentity("bob@example.com");
      ManagedChannel ac = channels.open(server.server(), alice);
      ManagedChannel bc = channels.open(server.server(), bob);
      TestListener listener = new TestListener(PresenceGrpc.newStub(bc));
      listener.offer("bench");
      Bench bench = new Bench(server, PresenceGrpc.newStub(ac), PresenceGrpc.newStub(bc),
          PresenceGrpc.newBlockingStub(ac), listener, frame);

      bench.run(1, 64L << 20); // warm-up
      double one = bench.run(1, mib << 20);
      double many = bench.run(concurrency, mib << 20);
      System.out.printf("relay, 1 transfer of %d MiB: %.1f MB/s%n", mib, one);
      System.out.printf("relay, %d concurrent transfers of %d MiB: %.1f MB/s aggregate%n", concurrency, mib, many);
      bench.stalled(concurrency);
      System.out.printf("relay queue high-water mark over the whole run: %d bytes%n",
          server.server().presence().relayStats().bytesInFlightHighWater());
    }
  }

  private record Bench(LoopbackServer server, PresenceGrpc.PresenceStub alice, PresenceGrpc.PresenceStub bob,
      PresenceGrpc.PresenceBlockingStub inbound, TestListener listener, int frame) {

    RelayPeer[] splice() throws Exception {
      String id = inbound.withDeadlineAfter(20, TimeUnit.SECONDS)
          .inbound(InboundRequest.newBuilder().setTo("bob@example.com").setService("bench").build())
          .getListeners(0).getId();
      RelayPeer c = RelayPeer.open(alice, id, RelayRole.RELAY_ROLE_CONNECTOR, false);
      listener.next(ListenDown.KindCase.RELAY_OPEN);
      RelayPeer l = RelayPeer.open(bob, id, RelayRole.RELAY_ROLE_LISTENER, false);
      c.awaitSpliced();
      l.awaitSpliced();
      return new RelayPeer[] {c, l};
    }

    /** MB/s of payload for {@code n} concurrent transfers of {@code bytes} each. */
    double run(int n, long bytes) throws Exception {
      List<RelayPeer[]> pairs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        pairs.add(splice());
      }
      ByteString chunk = UnsafeByteOperations.unsafeWrap(new byte[frame]);
      long start = System.nanoTime();
      List<CompletableFuture<Void>> senders = new ArrayList<>();
      for (RelayPeer[] p : pairs) {
        senders.add(CompletableFuture.runAsync(() -> {
          try {
            p[0].sendAll(size -> size == frame ? chunk : chunk.substring(0, size), bytes, frame, Duration.ofMinutes(10));
            p[0].halfClose();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }));
      }
      for (RelayPeer[] p : pairs) {
        p[1].closed.get(10, TimeUnit.MINUTES);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      for (CompletableFuture<Void> s : senders) {
        s.join();
      }
      for (RelayPeer[] p : pairs) {
        if (p[1].receivedBytes.get() != bytes) {
          throw new IllegalStateException("received " + p[1].receivedBytes.get() + " of " + bytes);
        }
      }
      return n * bytes / seconds / 1e6;
    }

    void stalled(int n) throws Exception {
      List<RelayPeer[]> pairs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        RelayPeer[] p = splice();
        p[1].stall();
        pairs.add(p);
      }
      long heapBefore = heapAfterGc();
      ByteString chunk = UnsafeByteOperations.unsafeWrap(new byte[frame]);
      List<CompletableFuture<Void>> senders = new ArrayList<>();
      for (RelayPeer[] p : pairs) {
        senders.add(CompletableFuture.runAsync(() -> {
          try {
            p[0].sendAll(size -> size == frame ? chunk : chunk.substring(0, size), 1L << 30, frame, Duration.ofMinutes(10));
          } catch (InterruptedException | AssertionError e) {
            // cancelled at the end of the run
          }
        }));
      }
      for (RelayPeer[] p : pairs) {
        Await.steady(Duration.ofSeconds(60), Duration.ofSeconds(1), "sender blocked", p[0]::blockedOnFlowControl,
            p[0].sentBytes::get);
      }
      long heapStalled = heapAfterGc();
      long sent = pairs.stream().mapToLong(p -> p[0].sentBytes.get()).sum();
      long got = pairs.stream().mapToLong(p -> p[1].receivedBytes.get()).sum();
      System.out.printf("stalled receivers (%d): senders got out %d bytes in total (%d each), receivers took %d;"
              + " relay queued %d bytes now, high-water %d; heap after GC %d MiB before, %d MiB while stalled%n",
          n, sent, sent / n, got, server.server().presence().relayStats().bytesInFlight(),
          server.server().presence().relayStats().bytesInFlightHighWater(), heapBefore >> 20, heapStalled >> 20);
      for (RelayPeer[] p : pairs) {
        p[0].cancel();
      }
    }

    static long heapAfterGc() {
      System.gc();
      long used = 0;
      for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
        if (pool.getType() == MemoryType.HEAP) {
          used += pool.getUsage().getUsed();
        }
      }
      return used;
    }
  }
}
