package org.q2q.client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.server.LoopbackServer;

/**
 * Connect latency benchmark (not a test; run with bench/connect-bench.sh): on a warm client, the
 * time from {@code connect()} to the first byte echoed back, over a new peer session each time
 * (the cached one is closed first), per route, routes interleaved. In one JVM on loopback: a
 * presence server, bob listening for echo, alice connecting.
 */
public final class ConnectLatencyBench {
  private ConnectLatencyBench() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 50;
    int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    Path dir = Files.createTempDirectory("q2q-connect-bench");
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost");
      Q2qClient bob = net.client(server, "bob@localhost");
      bob.listen("echo", TestNet::echo).ready().get(30, TimeUnit.SECONDS);
      Q2qClient alice = net.client(server, "alice@localhost");
      Address to = Address.parse("bob@localhost");
      List<Transport> routes = List.of(Transport.DIRECT, Transport.PTCP, Transport.RELAY);
      for (int i = 0; i < warmup; i++) {
        for (Transport t : routes) {
          once(alice, to, t);
        }
      }
      List<List<Double>> ms = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
      for (int i = 0; i < rounds; i++) {
        for (int r = 0; r < routes.size(); r++) {
          ms.get(r).add(once(alice, to, routes.get(r)));
        }
      }
      System.out.printf(Locale.ROOT, "connect() to first echoed byte, new session each time, %d rounds after %d warm-up,"
          + " %d cpus, JVM %s%n", rounds, warmup, Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.version"));
      for (int r = 0; r < routes.size(); r++) {
        List<Double> s = new ArrayList<>(ms.get(r));
        s.sort(null);
        System.out.printf(Locale.ROOT, "  %-7s p50 %6.1f ms  p90 %6.1f ms  min %6.1f ms  max %6.1f ms%n",
            routes.get(r).name().toLowerCase(Locale.ROOT), pct(s, 50), pct(s, 90), s.get(0), s.get(s.size() - 1));
      }
    } finally {
      try (java.util.stream.Stream<Path> all = Files.walk(dir)) { // the identities and the server's data
        all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static double once(Q2qClient alice, Address to, Transport t) throws Exception {
    alice.closePeerSessions();
    long t0 = System.nanoTime();
    VirtualChannel ch = alice.connect(to, "echo", t).get(30, TimeUnit.SECONDS);
    ch.outputStream().write(42);
    if (ch.inputStream().read() != 42) {
      throw new IllegalStateException("echo broken");
    }
    double ms = (System.nanoTime() - t0) / 1e6;
    ch.close();
    return ms;
  }

  private static double pct(List<Double> sorted, int p) {
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
  }
}
