package org.q2q.client.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.q2q.certstore.Address;

/** The file protocol end to end over in-memory links: both real ends, real files, no network. */
@Timeout(60)
class FileTransferTest {
  static final Address ALICE = Address.parse("alice@example.com");
  static final Address BOB = Address.parse("bob@example.com");
  static final int MIB = 1 << 20;

  @TempDir Path tmp;

  /** Runs a receiver on one end of a memory link on its own thread. */
  static CompletableFuture<FileReceiver.Received> receiveOn(FileReceiver r, Link link) {
    CompletableFuture<FileReceiver.Received> f = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        f.complete(r.receive(link, TransferProgress.NONE));
      } catch (Throwable e) {
        f.completeExceptionally(e);
      }
    }, "test-receiver");
    t.setDaemon(true);
    t.start();
    return f;
  }

  private FileReceiver receiver(Path inbox, FileReceiver.Options o) throws IOException {
    Files.createDirectories(inbox);
    return new FileReceiver(inbox, o, Clock.systemUTC());
  }

  private static FileSender sender() {
    return new FileSender(Clock.systemUTC(), Duration.ofSeconds(30));
  }

  static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  /** Relative path -> SHA-256 of every file, "dir" for every folder. */
  static Map<String, String> tree(Path root) throws IOException {
    Map<String, String> m = new TreeMap<>();
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.filter(p -> !p.equals(root)).toList()) {
        String rel = root.relativize(p).toString();
        if (rel.startsWith(SafeFileNames.STATE_FOLDER)) {
          continue;
        }
        m.put(rel, Files.isDirectory(p) ? "dir" : HexFormat.of().formatHex(
            FileTransfer.sha256().digest(Files.readAllBytes(p))));
      }
    }
    return m;
  }

  @Test
  void filesEmptyFilesNestedFoldersAndSeveralPathsArriveIntact() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src"));
    Path tree = Files.createDirectories(src.resolve("photos/2024/empty-album").getParent());
    Files.createDirectories(tree.resolve("empty-album"));
    Files.write(tree.resolve("a.jpg"), random(3 * MIB + 17, 1));
    Files.write(src.resolve("photos/b.bin"), random(MIB, 2)); // exactly one chunk
    Files.createFile(src.resolve("photos/empty.txt"));
    Path script = Files.writeString(src.resolve("run.sh"), "#!/bin/sh\necho hi\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-x---"));
    Path single = Files.write(src.resolve("notes.txt"), "hello".getBytes(StandardCharsets.UTF_8));
    Path inbox = tmp.resolve("in");
    FileReceiver r = receiver(inbox, FileReceiver.Options.defaults());
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);

    FileSender.Sent sent = sender().send(link[0], FileSet.of(List.of(src.resolve("photos"), script, single)), TransferProgress.NONE);

    assertThat(sent.files()).isEqualTo(5);
    assertThat(sent.folders()).isEqualTo(3);
    assertThat(sent.skippedBytes()).isZero();
    FileReceiver.Received rec = got.get(30, TimeUnit.SECONDS);
    assertThat(rec.from()).isEqualTo(ALICE);
    assertThat(rec.names()).containsExactly("photos", "run.sh", "notes.txt");
    Map<String, String> expected = tree(src);
    assertThat(tree(inbox)).isEqualTo(expected);
    assertThat(expected).containsEntry("photos/2024/empty-album", "dir").containsKey("photos/empty.txt");
    assertThat(Files.getPosixFilePermissions(inbox.resolve("run.sh"))).contains(PosixFilePermission.OWNER_EXECUTE);
    assertThat(Files.getPosixFilePermissions(inbox.resolve("notes.txt"))).doesNotContain(PosixFilePermission.OWNER_EXECUTE);
    // nothing left behind: the resume state of a completed transfer is gone
    try (Stream<Path> s = Files.list(inbox.resolve(SafeFileNames.STATE_FOLDER))) {
      assertThat(s.toList()).isEmpty();
    }
  }

  @Test
  void symlinksInsideAFolderAreNotFollowedButNotedOnBothSides() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src/dir"));
    Path secret = Files.writeString(tmp.resolve("secret.txt"), "do not send");
    Files.createSymbolicLink(src.resolve("link.txt"), secret);
    Files.writeString(src.resolve("real.txt"), "ok");
    Path inbox = tmp.resolve("in");
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(receiver(inbox, FileReceiver.Options.defaults()), link[1]);

    FileSender.Sent sent = sender().send(link[0], FileSet.of(List.of(src)), TransferProgress.NONE);

    assertThat(sent.notes()).anyMatch(n -> n.contains("'dir/link.txt' was not sent"));
    assertThat(got.get(30, TimeUnit.SECONDS).notes()).anyMatch(n -> n.contains("'dir/link.txt' was not sent"));
    assertThat(tree(inbox)).containsOnlyKeys("dir", "dir/real.txt");
  }

  @Test
  void anExistingFileIsNeverOverwrittenUnlessAskedAndBothSidesAreTold() throws Exception {
    Path inbox = Files.createDirectories(tmp.resolve("in"));
    Files.writeString(inbox.resolve("a.txt"), "old");
    Path a = Files.writeString(tmp.resolve("a.txt"), "new");

    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(receiver(inbox, FileReceiver.Options.defaults()), link[1]);
    FileSender.Sent sent = sender().send(link[0], FileSet.of(List.of(a)), TransferProgress.NONE);
    assertThat(sent.notes()).containsExactly("'a.txt' existed: stored as 'a (1).txt'");
    assertThat(got.get(30, TimeUnit.SECONDS).notes()).containsExactly("'a.txt' existed: stored as 'a (1).txt'");
    assertThat(Files.readString(inbox.resolve("a.txt"))).isEqualTo("old");
    assertThat(Files.readString(inbox.resolve("a (1).txt"))).isEqualTo("new");

    link = MemoryLink.pair(ALICE, BOB);
    got = receiveOn(receiver(inbox, FileReceiver.Options.defaults().withOverwrite(true)), link[1]);
    sender().send(link[0], FileSet.of(List.of(a)), TransferProgress.NONE);
    got.get(30, TimeUnit.SECONDS);
    assertThat(Files.readString(inbox.resolve("a.txt"))).isEqualTo("new");
  }

  @Test
  void aRemovedStateFolderIsCreatedAgain() throws Exception {
    Path inbox = tmp.resolve("in");
    FileReceiver r = receiver(inbox, FileReceiver.Options.defaults());
    for (int round = 0; round < 2; round++) {
      Path f = Files.write(tmp.resolve("two-chunks-" + round + ".bin"), random(MIB + 1, round));
      MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
      CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);
      sender().send(link[0], FileSet.of(List.of(f)), TransferProgress.NONE);
      got.get(30, TimeUnit.SECONDS);
      Files.delete(inbox.resolve(SafeFileNames.STATE_FOLDER)); // e.g. a user tidying up between transfers
    }
    assertThat(tree(inbox)).containsOnlyKeys("two-chunks-0.bin", "two-chunks-1.bin");
  }

  @Test
  void placementProbesAreBoundedAndFallBackToRandomNames() throws Exception {
    Path folder = Files.createDirectories(tmp.resolve("f"));
    Files.writeString(folder.resolve("x.txt"), "0");
    for (int i = 1; i <= SafeFileNames.NUMBERED_PROBES; i++) {
      Files.writeString(folder.resolve("x (" + i + ").txt"), "" + i);
    }
    Path part = Files.writeString(tmp.resolve("part"), "new");
    Path placed = SafeFileNames.placeWithoutReplacing(part, folder, "x.txt");
    assertThat(placed.getFileName().toString()).matches("x \\([0-9a-f]{8}\\)\\.txt");
    assertThat(Files.readString(placed)).isEqualTo("new");
    assertThat(Files.exists(part)).isFalse();
    assertThat(Files.readString(folder.resolve("x.txt"))).isEqualTo("0");
  }

  /** Starts a scripted sender: offers {@code offer}, reads the verdict; returns its streams. */
  static final class Script {
    final DataOutputStream out;
    final DataInputStream in;
    final FileTransfer.Status verdict;

    Script(Link link, Offer offer) throws IOException {
      out = new DataOutputStream(link.output());
      in = new DataInputStream(link.input());
      FileTransfer.writeOffer(out, offer);
      verdict = FileTransfer.readStatus(in);
    }
  }

  @Test
  void aCorruptChunkIsCaughtAtThatChunkAndNothingIsStoredUnderTheName() throws Exception {
    Path inbox = tmp.resolve("in");
    byte[] data = random(3 * MIB, 3);
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(receiver(inbox, FileReceiver.Options.defaults()), link[1]);

    Script s = new Script(link[0], new Offer(List.of(Offer.Entry.file("big.bin", data.length, false))));
    assertThat(s.verdict.ok()).isTrue();
    assertThat(s.in.readInt()).isZero(); // nothing to resume
    s.out.writeInt(0); // no skips
    MessageDigest sha = FileTransfer.sha256();
    s.out.write(data, 0, MIB);
    s.out.write(sha.digest(java.util.Arrays.copyOfRange(data, 0, MIB)));
    byte[] second = java.util.Arrays.copyOfRange(data, MIB, 2 * MIB);
    byte[] goodHash = sha.digest(second);
    second[12345] ^= 1; // flipped in transit
    s.out.write(second);
    s.out.write(goodHash);
    s.out.flush();
    FileTransfer.Status ack = FileTransfer.readAck(s.in);

    assertThat(ack.ok()).isFalse();
    assertThat(ack.index()).isZero();
    assertThat(ack.message()).contains("chunk 2 of 3 of 'big.bin' is damaged");
    assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS)).hasMessageContaining("chunk 2 of 3");
    assertThat(Files.exists(inbox.resolve("big.bin"))).isFalse();
    // only the verified first chunk was written (kept to resume)
    try (Stream<Path> st = Files.list(inbox.resolve(SafeFileNames.STATE_FOLDER))) {
      Path part = st.filter(p -> p.toString().endsWith(".part")).findFirst().orElseThrow();
      assertThat(Files.size(part)).isEqualTo(MIB);
    }
  }

  @Test
  void anInterruptedTransferResumesFromTheVerifiedChunksAndAChangedFileIsSentWhole() throws Exception {
    Path inbox = tmp.resolve("in");
    byte[] data = random(8 * MIB + 5, 4);
    Path file = Files.write(tmp.resolve("movie.bin"), data);
    FileReceiver r = receiver(inbox, FileReceiver.Options.defaults());

    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    link[0].outgoing().cutAfter(6 * MIB); // the sender "dies" after about two thirds
    CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);
    assertThatThrownBy(() -> sender().send(link[0], FileSet.of(List.of(file)), TransferProgress.NONE))
        .isInstanceOf(IOException.class);
    assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS)).hasMessageContaining("the verified part is kept to resume");
    assertThat(Files.exists(inbox.resolve("movie.bin"))).isFalse();

    MemoryLink[] again = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got2 = receiveOn(r, again[1]);
    long[] started = new long[2];
    FileSender.Sent sent = sender().send(again[0], FileSet.of(List.of(file)), new TransferProgress() {
      @Override
      public void started(long total, long skipped) {
        started[0] = total;
        started[1] = skipped;
      }

      @Override
      public void update(long done, long total) {}
    });
    assertThat(sent.skippedBytes()).isEqualTo(5L * MIB).isEqualTo(started[1]);
    assertThat(started[0]).isEqualTo(data.length);
    assertThat(again[0].outgoing().total()).isLessThan(data.length / 2);
    assertThat(got2.get(30, TimeUnit.SECONDS).resumedBytes()).isEqualTo(5L * MIB);
    assertThat(Files.readAllBytes(inbox.resolve("movie.bin"))).isEqualTo(data);

    // interrupted again, then the file changes at its start: no chunk matches, it is sent whole
    Files.delete(inbox.resolve("movie.bin"));
    MemoryLink[] third = MemoryLink.pair(ALICE, BOB);
    third[0].outgoing().cutAfter(3 * MIB);
    CompletableFuture<FileReceiver.Received> got3 = receiveOn(r, third[1]);
    assertThatThrownBy(() -> sender().send(third[0], FileSet.of(List.of(file)), TransferProgress.NONE)).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> got3.get(30, TimeUnit.SECONDS)).isNotNull();
    data[0] ^= 1;
    Files.write(file, data);
    MemoryLink[] fourth = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got4 = receiveOn(r, fourth[1]);
    assertThat(sender().send(fourth[0], FileSet.of(List.of(file)), TransferProgress.NONE).skippedBytes()).isZero();
    got4.get(30, TimeUnit.SECONDS);
    assertThat(Files.readAllBytes(inbox.resolve("movie.bin"))).isEqualTo(data);
  }

  @Test
  void filesStoredBeforeAnInterruptionAreSkippedWholeWhenTheSameFolderIsSentAgain() throws Exception {
    Path src = Files.createDirectories(tmp.resolve("src/album"));
    for (int i = 0; i < 6; i++) {
      Files.write(src.resolve("p" + i + ".bin"), random(MIB + i, 10 + i));
    }
    Path inbox = tmp.resolve("in");
    FileReceiver r = receiver(inbox, FileReceiver.Options.defaults());
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    link[0].outgoing().cutAfter(7L * MIB / 2);
    CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);
    assertThatThrownBy(() -> sender().send(link[0], FileSet.of(List.of(src)), TransferProgress.NONE)).isInstanceOf(IOException.class);
    assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS)).isNotNull();

    MemoryLink[] again = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got2 = receiveOn(r, again[1]);
    FileSender.Sent sent = sender().send(again[0], FileSet.of(List.of(src)), TransferProgress.NONE);
    got2.get(30, TimeUnit.SECONDS);
    // what had arrived whole before the cut is not sent again (how much did depends on buffering)
    assertThat(sent.skippedBytes()).isGreaterThanOrEqualTo(MIB);
    assertThat(sent.notes()).anyMatch(n -> n.contains("was already here"));
    assertThat(again[0].outgoing().total()).isLessThan(6L * MIB);
    assertThat(tree(inbox)).isEqualTo(tree(tmp.resolve("src")));
  }

  @Test
  void hostileNamesAreRefusedWithAReasonAndNothingIsWritten() throws Exception {
    Map<String, String> cases = new TreeMap<>(Map.of(
        "../../x", "'..' is not a file",
        "/etc/passwd", "absolute path",
        ".bashrc", "hidden",
        "a".repeat(300), "longer than 255 bytes",
        "invoice\u202Efdp.exe", "U+202E",
        "zero\u200Bwidth", "U+200B",
        "e\u0301.txt", "normal form C",
        "CON.txt", "reserved device name",
        "a/./b", "'.' is not a file",
        "-rf", "starts with '-'"));
    cases.put(SafeFileNames.STATE_FOLDER + "/x.part", "state folder");
    Path inbox = tmp.resolve("deep/in");
    FileReceiver r = receiver(inbox, FileReceiver.Options.defaults().withAllowHidden(false));
    for (Map.Entry<String, String> c : cases.entrySet()) {
      MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
      CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);
      Script s = new Script(link[0], new Offer(List.of(Offer.Entry.file(c.getKey(), 1, false))));
      assertThat(s.verdict.ok()).as(c.getKey()).isFalse();
      assertThat(s.verdict.message()).as(c.getKey()).contains(c.getValue());
      link[0].abort("done");
      assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS)).hasMessageContaining("refused an offer from alice@example.com");
    }
    assertThat(tree(tmp)).containsOnlyKeys("deep", "deep/in");
  }

  @Test
  void aNameThatIsNotValidUtf8IsRefusedAndAnUnusualValidOneIsStored() throws Exception {
    Path inbox = tmp.resolve("in");
    FileReceiver r = receiver(inbox, FileReceiver.Options.defaults());
    // a lone high surrogate, encoded as UTF-8 would if it allowed it (CESU style): ED A0 BD
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);
    DataOutputStream out = new DataOutputStream(link[0].output());
    byte[] name = {'a', (byte) 0xED, (byte) 0xA0, (byte) 0xBD, '.', 't', 'x', 't'};
    out.write(FileTransfer.MAGIC);
    out.writeByte(FileTransfer.VERSION);
    out.writeInt(1);
    out.writeLong(0);
    out.writeByte(0);
    out.writeByte(0);
    out.writeShort(name.length);
    out.write(name);
    out.writeLong(0);
    FileTransfer.Status verdict = FileTransfer.readStatus(new DataInputStream(link[0].input()));
    assertThat(verdict.ok()).isFalse();
    assertThat(verdict.message()).contains("not valid UTF-8");
    link[0].abort("done");
    assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS)).hasMessageContaining("not valid UTF-8");

    // M9's crash: 63 ASCII characters, then an emoji across the old 64-character cut
    String fancy = "x".repeat(63) + "\uD83D\uDE00.txt";
    Path f = Files.writeString(tmp.resolve(fancy), "smile");
    MemoryLink[] ok = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got2 = receiveOn(r, ok[1]);
    sender().send(ok[0], FileSet.of(List.of(f)), TransferProgress.NONE);
    got2.get(30, TimeUnit.SECONDS);
    assertThat(Files.readString(inbox.resolve(fancy))).isEqualTo("smile");
  }

  @Test
  void clashesInsideAnOfferAreRefused() {
    assertThat(FileReceiver.check(new Offer(List.of(Offer.Entry.file("a", 1, false), Offer.Entry.file("a", 2, false))), false))
        .contains("offered twice");
    assertThat(FileReceiver.check(new Offer(List.of(Offer.Entry.file("a", 1, false), Offer.Entry.file("a/b", 2, false))), false))
        .contains("offered as a file");
    assertThat(FileReceiver.check(new Offer(List.of(Offer.Entry.folder("a"), Offer.Entry.folder("a"),
        Offer.Entry.file("a/b", 2, false))), false)).isNull();
  }

  @Test
  void anOfferLargerThanTheFreeSpaceIsRefusedOnBothSides() throws Exception {
    Path inbox = tmp.resolve("in");
    FileReceiver r = new FileReceiver(Files.createDirectories(inbox),
        new FileReceiver.Options(false, false, Duration.ofSeconds(30), 4, Long.MAX_VALUE / 4), Clock.systemUTC());
    Path f = Files.writeString(tmp.resolve("f.txt"), "x");
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);
    assertThatThrownBy(() -> sender().send(link[0], FileSet.of(List.of(f)), TransferProgress.NONE))
        .isInstanceOf(FileTransferException.class)
        .hasMessageContaining("bob@example.com refused the transfer: too large");
    assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS)).hasMessageContaining("too large");
  }

  @Test
  void moreTransfersThanTheCapAreRefusedAsBusy() throws Exception {
    Path inbox = Files.createDirectories(tmp.resolve("in"));
    FileReceiver r = new FileReceiver(inbox, new FileReceiver.Options(false, false, Duration.ofSeconds(30), 1, 0), Clock.systemUTC());
    MemoryLink[] first = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(r, first[1]);
    Script running = new Script(first[0], new Offer(List.of(Offer.Entry.file("a.bin", 10, false))));
    assertThat(running.verdict.ok()).isTrue(); // admitted, then it stalls

    MemoryLink[] second = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got2 = receiveOn(r, second[1]);
    Script refused = new Script(second[0], new Offer(List.of(Offer.Entry.file("b.bin", 10, false))));
    assertThat(refused.verdict.ok()).isFalse();
    assertThat(refused.verdict.message()).contains("busy with 1 transfers");
    second[0].abort("done");
    first[0].abort("done");
    assertThatThrownBy(() -> got2.get(30, TimeUnit.SECONDS)).hasMessageContaining("busy");
    assertThatThrownBy(() -> got.get(30, TimeUnit.SECONDS)).isNotNull();
  }

  @Test
  void aStalledSenderIsCutOffAfterTheIdleTimeout() throws Exception {
    Path inbox = tmp.resolve("in");
    FileReceiver r = receiver(inbox, FileReceiver.Options.defaults().withIdleTimeout(Duration.ofMillis(300)));
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    CompletableFuture<FileReceiver.Received> got = receiveOn(r, link[1]);
    Script s = new Script(link[0], new Offer(List.of(Offer.Entry.file("slow.bin", 10, false))));
    assertThat(s.verdict.ok()).isTrue();
    s.out.writeInt(0);
    s.out.write(new byte[3]); // then nothing
    s.out.flush();
    assertThatThrownBy(() -> got.get(10, TimeUnit.SECONDS)).hasMessageContaining("no progress for 300 ms");
  }

  @Test
  void aStalledReceiverIsCutOffAfterTheIdleTimeout() throws Exception {
    Path f = Files.write(tmp.resolve("f.bin"), random(10 * MIB, 5));
    MemoryLink[] link = MemoryLink.pair(ALICE, BOB);
    // the "receiver" accepts, then reads nothing
    Thread peer = new Thread(() -> {
      try {
        DataInputStream in = new DataInputStream(link[1].input());
        FileTransfer.readOffer(in);
        DataOutputStream out = new DataOutputStream(link[1].output());
        FileTransfer.writeStatus(out, FileTransfer.OK, "sure");
        out.writeInt(0);
        out.flush();
      } catch (IOException e) {
        // the test fails below if this did not happen
      }
    });
    peer.start();
    List<String> seen = new ArrayList<>();
    assertThatThrownBy(() -> new FileSender(Clock.systemUTC(), Duration.ofMillis(300))
        .send(link[0], FileSet.of(List.of(f)), (done, total) -> seen.add(done + "")))
        .hasMessageContaining("no progress");
  }
}
