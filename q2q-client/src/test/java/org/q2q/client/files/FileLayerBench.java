package org.q2q.client.files;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.q2q.certstore.Address;

/**
 * The file layer alone, in one JVM: FileSender -> in-memory link ({@link MemoryLink}, no TLS, no
 * sockets) -> FileReceiver writing to disk, with every check the real transfer makes (chunk
 * hashes, fsync, no-replace rename). Prints MB/s and process CPU per MiB for one large file and
 * for a folder of many small files. Not a test; run with
 * {@code bench/file-bench.sh --layer [MiB] [files] [rounds]}.
 */
public final class FileLayerBench {
  private FileLayerBench() {}

  public static void main(String[] args) throws Exception {
    int mib = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
    int files = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    Path work = Files.createTempDirectory("q2q-file-layer-bench");
    try {
      Path big = work.resolve("payload.bin");
      writeRandom(big, (long) mib << 20, 1);
      Path folder = Files.createDirectories(work.resolve("small"));
      for (int i = 0; i < files; i++) {
        Path sub = Files.createDirectories(folder.resolve("d" + (i / 100)));
        writeRandom(sub.resolve("f" + i + ".txt"), 4096, i);
      }
      for (int r = -1; r < rounds; r++) { // round -1 warms the JIT
        run(work, List.of(big), mib + " MiB file", r >= 0);
        run(work, List.of(folder), files + " files of 4 KiB", r >= 0);
      }
    } finally {
      try (Stream<Path> s = Files.walk(work)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void run(Path work, List<Path> what, String label, boolean print) throws Exception {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    Path inbox = Files.createDirectories(work.resolve("in"));
    FileReceiver receiver = new FileReceiver(inbox, FileReceiver.Options.defaults(), Clock.systemUTC());
    MemoryLink[] link = MemoryLink.pair(Address.parse("alice@bench"), Address.parse("bob@bench"));
    FileSet set = FileSet.of(what);
    long cpu0 = os.getProcessCpuTime();
    long t0 = System.nanoTime();
    CompletableFuture<FileReceiver.Received> got = CompletableFuture.supplyAsync(() -> {
      try {
        return receiver.receive(link[1], TransferProgress.NONE);
      } catch (FileTransferException e) {
        throw new IllegalStateException(e);
      }
    });
    FileSender.Sent sent = new FileSender(Clock.systemUTC(), Duration.ofSeconds(60)).send(link[0], set, TransferProgress.NONE);
    got.get();
    double s = (System.nanoTime() - t0) / 1e9;
    double cpuMs = (os.getProcessCpuTime() - cpu0) / 1e6;
    if (print) {
      double mb = sent.bytes() / 1e6;
      System.out.printf(Locale.ROOT, "file layer, %s: %.0f MB/s, %.0f files/s, %.2f ms CPU per MiB (both ends)%n",
          label, mb / s, sent.files() / s, cpuMs / Math.max(1, sent.bytes() / (1 << 20)));
    }
    try (Stream<Path> st = Files.walk(inbox)) {
      st.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static void writeRandom(Path p, long size, long seed) throws Exception {
    byte[] block = new byte[(int) Math.min(size, 1 << 20)];
    SplittableRandom r = new SplittableRandom(seed);
    try (var out = Files.newOutputStream(p)) {
      for (long left = size; left > 0; left -= block.length) {
        r.nextBytes(block);
        out.write(block, 0, (int) Math.min(left, block.length));
      }
    }
  }
}
