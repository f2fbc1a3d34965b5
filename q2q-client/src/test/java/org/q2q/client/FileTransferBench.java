package org.q2q.client;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.q2q.certstore.Address;
import org.q2q.client.files.FileReceiver;
import org.q2q.client.files.FileSender;
import org.q2q.client.files.FileSet;
import org.q2q.client.files.FileTransfer;
import org.q2q.client.files.TransferProgress;
import org.q2q.server.LoopbackServer;

/**
 * The file layer end to end in one warm JVM (no process start-up): FileSender -> peer session
 * (direct TCP or relay, TLS) -> FileReceiver writing to disk, with the CLI's flow-control
 * settings; prints MB/s and the process CPU per MiB (both ends run here). Not a test; run with
 * bench/file-bench.sh --jvm [MiB] [rounds] [direct|relay].
 */
public final class FileTransferBench {
  private FileTransferBench() {}

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 512;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    Transport route = args.length > 2 ? Transport.valueOf(args[2].toUpperCase(Locale.ROOT)) : Transport.DIRECT;
    Path dir = Files.createTempDirectory("q2q-file-bench");
    Path file = dir.resolve("payload.bin");
    Files.write(file, TestNet.bytes(mib << 20, 7));
    Path inbox = Files.createDirectories(dir.resolve("in"));
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (TestNet net = new TestNet(dir)) {
      LoopbackServer server = net.server("localhost");
      Q2qClient bob = net.track(net.builder(server, "bob@localhost")
          .peerFlowControl(FileTransfer.CHANNEL_BUFFER, FileTransfer.SESSION_WINDOW).build());
      FileReceiver receiver = new FileReceiver(inbox, FileReceiver.Options.defaults(), Clock.systemUTC());
      bob.listen(FileTransfer.SERVICE, ch -> receiver.receive(ch, TransferProgress.NONE)).ready().get(30, TimeUnit.SECONDS);
      Q2qClient alice = net.track(net.builder(server, "alice@localhost")
          .peerFlowControl(FileTransfer.CHANNEL_BUFFER, FileTransfer.SESSION_WINDOW).build());
      for (int r = -1; r < rounds; r++) { // round -1 warms the JIT
        long cpu0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        VirtualChannel ch = alice.connect(Address.parse("bob@localhost"), FileTransfer.SERVICE, route).get(30, TimeUnit.SECONDS);
        new FileSender(Clock.systemUTC(), java.time.Duration.ofSeconds(60)).send(ch, FileSet.of(java.util.List.of(file)), TransferProgress.NONE);
        double s = (System.nanoTime() - t0) / 1e9;
        double cpuMs = (os.getProcessCpuTime() - cpu0) / 1e6;
        try (var files = Files.list(inbox)) {
          for (Path p : files.toList()) {
            if (Files.isRegularFile(p)) {
              Files.delete(p);
            }
          }
        }
        if (r >= 0) {
          System.out.printf(Locale.ROOT, "%s %d MiB: %.0f MB/s, %.2f ms CPU per MiB (both ends) via %s%n", route, mib,
              (mib << 20) / 1e6 / s, cpuMs / mib, ch.route());
        }
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
