package org.q2q.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.client.Q2qClient;
import org.q2q.client.VirtualChannel;
import org.q2q.client.files.FileTransfer;
import org.q2q.client.files.Offer;
import org.q2q.server.LoopbackServer;

/**
 * {@code q2q send} and {@code q2q receive} as real processes on loopback (issue 11's "done means"):
 * what arrives, resume after either side is killed, damaged data, hostile names.
 */
@Timeout(300)
class SendReceiveProcessTest {
  private static final int MIB = 1 << 20;
  @TempDir Path dir;
  private LoopbackServer server;
  private final List<Q2qProcess> processes = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    server = LoopbackServer.start();
  }

  @AfterEach
  void stop() {
    processes.forEach(Q2qProcess::close);
    server.close();
  }

  private Map<String, String> home(String who) throws Exception {
    return Q2qProcess.home(server, dir, who);
  }

  private Q2qProcess q2q(String who, String... args) throws Exception {
    Q2qProcess p = Q2qProcess.start(dir, who + "-" + args[0] + "-" + processes.size(), home(who), args);
    processes.add(p);
    return p;
  }

  private Q2qProcess receiver(Path inbox, String... more) throws Exception {
    List<String> args = new ArrayList<>(List.of("receive", "--dir", inbox.toString()));
    args.addAll(List.of(more));
    Q2qProcess p = q2q("bob", args.toArray(String[]::new));
    p.awaitLine("ready:", 60);
    return p;
  }

  /** Relative path -> SHA-256 (or "dir"), leaving out the receiver's state folder. */
  private static Map<String, String> tree(Path root) throws IOException {
    Map<String, String> m = new TreeMap<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.filter(p -> !p.equals(root)).toList()) {
        String rel = root.relativize(p).toString();
        if (!rel.startsWith(".q2q-partial")) {
          m.put(rel, Files.isDirectory(p) ? "dir" : sha256(p));
        }
      }
    }
    return m;
  }

  private static String sha256(Path p) throws IOException {
    return HexFormat.of().formatHex(FileTransfer.sha256().digest(Files.readAllBytes(p)));
  }

  private static void write(Path p, int size, long seed) throws IOException {
    byte[] b = new byte[size];
    new SplittableRandom(seed).nextBytes(b);
    Files.createDirectories(p.getParent());
    Files.write(p, b);
  }

  /** Size of the receiver's one partial file (0 if none yet). */
  private static long partialSize(Path inbox) throws IOException {
    Path state = inbox.resolve(".q2q-partial");
    if (!Files.isDirectory(state)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(state)) {
      long max = 0;
      for (Path p : s.filter(p -> p.toString().endsWith(".part")).toList()) {
        try {
          max = Math.max(max, Files.size(p));
        } catch (IOException gone) {
          // renamed into place meanwhile
        }
      }
      return max;
    }
  }

  private static void awaitPartial(Path inbox, long atLeast, Q2qProcess sender) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (partialSize(inbox) < atLeast) {
      assertThat(System.nanoTime()).as("partial file never reached " + atLeast + "; sender: " + sender.stdout()
          + sender.stderr()).isLessThan(deadline);
      Thread.sleep(2); // polling the file size with a deadline
    }
  }

  @Test
  void aFileThenAnEmptyFileATreeWithEmptyFoldersAndAnotherFileAllAtOnceArriveIntact() throws Exception {
    Path src = dir.resolve("src");
    write(src.resolve("single.bin"), 2 * MIB + 3, 1);
    Path empty = Files.createFile(src.resolve("empty.txt"));
    Path tree = src.resolve("tree");
    write(tree.resolve("a/b/deep.bin"), MIB, 2);
    write(tree.resolve("a/small.txt"), 10, 3);
    Files.createDirectories(tree.resolve("a/empty-folder"));
    Files.createDirectories(tree.resolve("empty-top"));
    write(src.resolve("other.bin"), 5000, 4);
    Path inbox = dir.resolve("inbox");
    Q2qProcess recv = receiver(inbox);

    Q2qProcess one = q2q("alice", "send", "bob@localhost", src.resolve("single.bin").toString());
    assertThat(one.awaitExit(60)).as(one.stderr()).isZero();
    // logging is bound before the command logs, though another thread binds it (Preload)
    assertThat(one.stderr()).doesNotContain("SLF4J");
    assertThat(one.stdout()).anyMatch(l -> l.startsWith("sent single.bin (2.0 MiB) to bob@localhost via ") // direct or reverse tcp on one host
        && l.endsWith("all stored and verified by bob@localhost (SHA-256 per 1 MiB chunk and per file)"));

    Q2qProcess many = q2q("alice", "send", "bob@localhost", empty.toString(), tree.toString(), src.resolve("other.bin").toString());
    assertThat(many.awaitExit(60)).as(many.stderr()).isZero();
    assertThat(many.stdout()).anyMatch(l -> l.startsWith("sending 4 files, 5 folders (1.0 MiB) to bob@localhost"));
    recv.awaitLine("received 4 files, 5 folders", 30);

    assertThat(tree(inbox)).isEqualTo(tree(src));
    assertThat(tree(inbox)).containsEntry("empty.txt", sha256(empty)).containsEntry("tree/a/empty-folder", "dir");
    assertThat(recv.stdout()).anyMatch(l -> l.startsWith("received 1 file (2.0 MiB) from alice@localhost into " + inbox + ": single.bin"));
  }

  @Test
  void aSenderKilledHalfwayResumesAndSendsLessThanHalfAgain() throws Exception {
    Path file = dir.resolve("big.bin");
    write(file, 160 * MIB, 5);
    Path inbox = dir.resolve("inbox");
    Q2qProcess recv = receiver(inbox);

    Q2qProcess first = q2q("alice", "send", "--quiet", "bob@localhost", file.toString());
    awaitPartial(inbox, 90L * MIB, first);
    first.close(); // kill -9: no goodbye
    assertThat(first.awaitExit(30)).isNotZero();
    awaitStderr(recv, "q2q: receiving 'big.bin' from alice@localhost failed");
    assertThat(recv.stderr()).contains("(the verified part is kept to resume)");
    assertThat(Files.exists(inbox.resolve("big.bin"))).isFalse(); // nothing that looks complete

    Q2qProcess again = q2q("alice", "send", "bob@localhost", file.toString());
    assertThat(again.awaitExit(120)).as(again.stderr()).isZero();
    String resumed = again.awaitLine("resuming: ", 1);
    long skipped = (long) (Double.parseDouble(resumed.substring("resuming: ".length(), resumed.indexOf(" MiB"))) * MIB);
    assertThat(skipped).as(resumed).isGreaterThan(80L * MIB);
    assertThat(resumed).contains(" of 160.0 MiB already at bob@localhost");
    assertThat(again.stdout()).anyMatch(l -> l.startsWith("sent big.bin (160.0 MiB)") && l.contains(" of it resumed: all stored and verified"));
    recv.awaitLine("receiving 160.0 MiB from alice@localhost (", 30);
    recv.awaitLine("received 1 file (160.0 MiB)", 30);
    assertThat(sha256(inbox.resolve("big.bin"))).isEqualTo(sha256(file));
  }

  @Test
  void aReceiverKilledHalfwayThenRestartedResumes() throws Exception {
    Path file = dir.resolve("big.bin");
    write(file, 160 * MIB, 6);
    Path inbox = dir.resolve("inbox");
    Q2qProcess recv = receiver(inbox);

    Q2qProcess first = q2q("alice", "send", "--quiet", "bob@localhost", file.toString());
    awaitPartial(inbox, 90L * MIB, first);
    recv.close();
    assertThat(first.awaitExit(60)).isNotZero();
    assertThat(Files.exists(inbox.resolve("big.bin"))).isFalse();

    Q2qProcess recv2 = receiver(inbox, "--once");
    Q2qProcess again = q2q("alice", "send", "bob@localhost", file.toString());
    assertThat(again.awaitExit(120)).as(again.stderr()).isZero();
    assertThat(again.stdout()).anyMatch(l -> l.startsWith("resuming: "));
    assertThat(recv2.awaitExit(30)).isZero();
    assertThat(sha256(inbox.resolve("big.bin"))).isEqualTo(sha256(file));
  }

  /** A scripted, hostile sender: a real client speaking the wire format by hand. */
  private VirtualChannel hostile() throws Exception {
    if (closeLater.isEmpty()) {
      ClientHome home = new ClientHome(Path.of(home("alice").get("Q2Q_HOME")));
      closeLater.add(Q2qClient.builder(home, Address.parse("alice@localhost")).build());
    }
    return closeLater.get(0).connect(Address.parse("bob@localhost"), FileTransfer.SERVICE).get(30, TimeUnit.SECONDS);
  }

  /** Waits for {@code text} on the process's stderr. */
  private static void awaitStderr(Q2qProcess p, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!p.stderr().contains(text)) {
      assertThat(System.nanoTime()).as("no '" + text + "' on stderr: " + p.stderr()).isLessThan(deadline);
      Thread.sleep(20); // polling a file with a deadline
    }
  }

  private final List<Q2qClient> closeLater = new ArrayList<>();

  @AfterEach
  void closeClients() {
    closeLater.forEach(Q2qClient::close);
  }

  @Test
  void aDamagedChunkIsDetectedAtThatChunkAndNothingIsStored() throws Exception {
    Path inbox = dir.resolve("inbox");
    Q2qProcess recv = receiver(inbox, "--once");
    byte[] data = new byte[3 * MIB];
    new SplittableRandom(7).nextBytes(data);
    VirtualChannel ch = hostile();
    DataOutputStream out = new DataOutputStream(ch.outputStream());
    DataInputStream in = new DataInputStream(ch.inputStream());
    FileTransfer.writeOffer(out, new Offer(List.of(Offer.Entry.file("big.bin", data.length, false))));
    assertThat(FileTransfer.readStatus(in).ok()).isTrue();
    assertThat(in.readInt()).isZero();
    out.writeInt(0);
    MessageDigest sha = FileTransfer.sha256();
    out.write(data, 0, MIB);
    out.write(sha.digest(Arrays.copyOfRange(data, 0, MIB)));
    byte[] second = Arrays.copyOfRange(data, MIB, 2 * MIB);
    byte[] hash = sha.digest(second);
    second[777] ^= 0x40;
    out.write(second);
    out.write(hash);
    FileTransfer.Status ack = FileTransfer.readAck(in);
    assertThat(ack.ok()).isFalse();
    assertThat(ack.message()).contains("chunk 2 of 3 of 'big.bin' is damaged (SHA-256 mismatch); it was not stored");
    ch.close();

    assertThat(recv.awaitExit(30)).isEqualTo(ExitCodes.FAILURE);
    assertThat(recv.stderr()).contains("receiving 'big.bin' from alice@localhost failed: chunk 2 of 3");
    assertThat(Files.exists(inbox.resolve("big.bin"))).isFalse();
    assertThat(partialSize(inbox)).isEqualTo(MIB); // only the verified chunk, kept to resume
  }

  @Test
  void hostileNamesAreRefusedWithAClearReasonAndNothingIsWrittenOutsideDir() throws Exception {
    Path inbox = dir.resolve("deep/inbox");
    Q2qProcess recv = receiver(inbox);
    Map<String, String> cases = new TreeMap<>(Map.of(
        "../../x", "'..' is not a file",
        "/tmp/abs.txt", "absolute path",
        ".bashrc", "hidden (starts with a dot)",
        "n".repeat(300), "longer than 255 bytes",
        "report\u202Etxt.exe", "U+202E"));
    for (Map.Entry<String, String> c : cases.entrySet()) {
      VirtualChannel ch = hostile();
      DataOutputStream out = new DataOutputStream(ch.outputStream());
      FileTransfer.writeOffer(out, new Offer(List.of(Offer.Entry.file(c.getKey(), 5, false))));
      FileTransfer.Status verdict = FileTransfer.readStatus(new DataInputStream(ch.inputStream()));
      assertThat(verdict.ok()).as(c.getKey()).isFalse();
      assertThat(verdict.message()).as(c.getKey()).contains(c.getValue());
      ch.close();
    }
    // a name whose UTF-8 encodes half a surrogate pair
    VirtualChannel ch = hostile();
    DataOutputStream out = new DataOutputStream(ch.outputStream());
    byte[] name = {'x', (byte) 0xED, (byte) 0xA0, (byte) 0xBD}; // U+D83D alone, encoded by hand (Java would write '?')
    out.write("Q2QF".getBytes(StandardCharsets.US_ASCII));
    out.writeByte(FileTransfer.VERSION);
    out.writeInt(1);
    out.writeLong(5);
    out.writeByte(0);
    out.writeByte(0);
    out.writeShort(name.length);
    out.write(name);
    out.writeLong(5);
    FileTransfer.Status verdict = FileTransfer.readStatus(new DataInputStream(ch.inputStream()));
    assertThat(verdict.ok()).isFalse();
    assertThat(verdict.message()).contains("not valid UTF-8");
    ch.close();

    // the receiver said why each time and kept going; nothing anywhere
    long refusals = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (refusals < 6 && System.nanoTime() < deadline) {
      refusals = recv.stderr().lines().filter(l -> l.contains("refused an offer from alice@localhost")).count();
      Thread.sleep(20); // polling stderr with a deadline
    }
    assertThat(refusals).as(recv.stderr()).isEqualTo(6);
    assertThat(recv.stderr()).contains("absolute path").contains("\\u202E").doesNotContain("\u202E");
    try (Stream<Path> s = Files.walk(dir.resolve("deep"))) {
      assertThat(s.map(p -> dir.relativize(p).toString()).toList()).containsExactlyInAnyOrder("deep", "deep/inbox");
    }
    assertThat(Files.exists(dir.resolve("x"))).isFalse();
    assertThat(Files.exists(Path.of("/tmp/abs.txt"))).isFalse();
  }

  @Test
  void aNameThePlatformCannotStoreIsRefusedAtTheOfferAndOnceStillEnds() throws Exception {
    // M9: under a C locale the JVM cannot encode non-ASCII file names; that must be a refusal, not a crash
    Path inbox = dir.resolve("inbox");
    Map<String, String> env = new java.util.HashMap<>(home("bob"));
    env.put("LC_ALL", "C");
    env.put("LANG", "C");
    Q2qProcess recv = Q2qProcess.start(dir, "bob-receive-c-locale", env, "receive", "--dir", inbox.toString(), "--once");
    processes.add(recv);
    recv.awaitLine("ready:", 60);
    VirtualChannel ch = hostile();
    DataOutputStream out = new DataOutputStream(ch.outputStream());
    FileTransfer.writeOffer(out, new Offer(List.of(Offer.Entry.file("caf\u00e9.txt", 5, false))));
    FileTransfer.Status verdict = FileTransfer.readStatus(new DataInputStream(ch.inputStream()));
    ch.close();
    org.junit.jupiter.api.Assumptions.assumeFalse(verdict.ok(),
        "this JVM encodes file names as UTF-8 even under LC_ALL=C: nothing to test here");
    assertThat(verdict.message()).contains("cannot be stored on this system");
    assertThat(recv.awaitExit(30)).isEqualTo(ExitCodes.FAILURE);
    assertThat(recv.stderr()).contains("refused an offer from alice@localhost").doesNotContain("Exception");
  }

  @Test
  void sendAndReceiveHelpWorkAsProcesses() throws Exception {
    for (String cmd : List.of("send", "receive")) {
      Q2qProcess p = q2q("alice", cmd, "--help");
      assertThat(p.awaitExit(60)).isZero();
      assertThat(p.stdout()).first().asString().startsWith("Usage: q2q " + cmd);
    }
  }
}
