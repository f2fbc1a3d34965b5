package org.q2q.server.presence;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.q2q.proto.PresenceGrpc;
import org.q2q.proto.RelayFrame;
import org.q2q.proto.RelayHello;
import org.q2q.proto.RelayRole;

/**
 * One side of a relay for tests: opens a Relay stream, says hello, reads with manual flow control
 * (so a test can stall it), hashes what it receives and sends respecting {@code isReady()}.
 */
final class RelayPeer implements ClientResponseObserver<RelayFrame, RelayFrame> {
  final CompletableFuture<Void> spliced = new CompletableFuture<>();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  final AtomicLong receivedBytes = new AtomicLong();
  final AtomicLong sentBytes = new AtomicLong();
  private final ByteArrayOutputStream firstBytes = new ByteArrayOutputStream();
  private final MessageDigest digest;
  private final Object readyLock = new Object();
  private volatile boolean stalled;
  private volatile boolean waitingForReady;
  private ClientCallStreamObserver<RelayFrame> requests;

  /** False: count received bytes only (benchmarks). */
  private final boolean keep;

  private RelayPeer() {
    this(true);
  }

  private RelayPeer(boolean keep) {
    this.keep = keep;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Opens a relay stream on {@code stub} and sends the hello. */
  static RelayPeer open(PresenceGrpc.PresenceStub stub, String listenerId, RelayRole role) {
    return open(stub, listenerId, role, true);
  }

  /** As {@link #open}; {@code keep} false only counts what it receives (no hashing). */
  static RelayPeer open(PresenceGrpc.PresenceStub stub, String listenerId, RelayRole role, boolean keep) {
    RelayPeer p = new RelayPeer(keep);
    stub.relay(p);
    p.send(RelayFrame.newBuilder()
        .setHello(RelayHello.newBuilder().setListenerId(listenerId).setRole(role))
        .build());
    return p;
  }

  /** Opens a relay stream and says nothing. */
  static RelayPeer openSilent(PresenceGrpc.PresenceStub stub) {
    RelayPeer p = new RelayPeer(true);
    stub.relay(p);
    return p;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<RelayFrame> r) {
    this.requests = r;
    r.disableAutoRequestWithInitial(1);
    r.setOnReadyHandler(() -> {
      synchronized (readyLock) {
        readyLock.notifyAll();
      }
    });
  }

  @Override
  public void onNext(RelayFrame f) {
    try {
      receive(f);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private void receive(RelayFrame f) throws java.io.IOException {
    if (f.hasSpliced()) {
      spliced.complete(null);
    } else if (f.hasData()) {
      ByteString d = f.getData();
      if (keep) {
        synchronized (digest) {
          digest.update(d.asReadOnlyByteBuffer());
          if (firstBytes.size() < (1 << 20)) {
            d.substring(0, Math.min(d.size(), (1 << 20) - firstBytes.size())).writeTo(firstBytes);
          }
        }
      }
      receivedBytes.addAndGet(d.size());
    }
    if (!stalled) {
      requests.request(1);
    }
  }

  @Override
  public void onError(Throwable t) {
    closed.complete(Status.fromThrowable(t));
    wake();
  }

  @Override
  public void onCompleted() {
    closed.complete(Status.OK);
    wake();
  }

  private void wake() {
    synchronized (readyLock) {
      readyLock.notifyAll();
    }
  }

  synchronized void send(RelayFrame f) {
    requests.onNext(f);
  }

  void send(byte[] data) {
    send(RelayFrame.newBuilder().setData(ByteString.copyFrom(data)).build());
    sentBytes.addAndGet(data.length);
  }

  /**
   * Sends {@code total} bytes from {@code source} in {@code chunk}-byte frames, waiting for
   * {@code isReady()} before each (so the client buffers nothing); stops early if the stream ends.
   */
  void sendAll(PatternSource source, long total, int chunk, Duration timeout) throws InterruptedException {
    sendAll(source::next, total, chunk, timeout);
  }

  /** As above, with frames from {@code frames} (given the frame size). */
  void sendAll(java.util.function.IntFunction<ByteString> frames, long total, int chunk, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long left = total;
    while (left > 0 && !closed.isDone()) {
      synchronized (readyLock) {
        while (!requests.isReady() && !closed.isDone()) {
          waitingForReady = true;
          long wait = deadline - System.nanoTime();
          if (wait <= 0) {
            throw new AssertionError("not ready to send for " + timeout + " (" + sentBytes + " bytes sent)");
          }
          readyLock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(wait)));
        }
        waitingForReady = false;
      }
      int n = (int) Math.min(chunk, left);
      send(RelayFrame.newBuilder().setData(frames.apply(n)).build());
      sentBytes.addAndGet(n);
      left -= n;
    }
  }

  /** Whether {@link #sendAll} is waiting for the transport to become ready. */
  boolean blockedOnFlowControl() {
    return waitingForReady && !requests.isReady();
  }

  /** Stops reading (no more request(1)). */
  void stall() {
    stalled = true;
  }

  /** Reads again. */
  void resume() {
    stalled = false;
    requests.request(1);
  }

  void halfClose() {
    synchronized (this) {
      requests.onCompleted();
    }
  }

  void cancel() {
    requests.cancel("test cancels", null);
  }

  /** The first MiB received. */
  byte[] firstBytes() {
    synchronized (digest) {
      return firstBytes.toByteArray();
    }
  }

  String sha256() {
    synchronized (digest) {
      try {
        return HexFormat.of().formatHex(((MessageDigest) digest.clone()).digest());
      } catch (CloneNotSupportedException e) {
        throw new AssertionError(e);
      }
    }
  }

  Status awaitClosed() throws Exception {
    return closed.get(20, TimeUnit.SECONDS);
  }

  void awaitSpliced() throws Exception {
    spliced.get(10, TimeUnit.SECONDS);
  }

  /** Deterministic pseudo-random bytes, with their SHA-256. */
  static final class PatternSource {
    private final java.util.Random random;
    private final MessageDigest sent;

    PatternSource(long seed) {
      random = new java.util.Random(seed);
      try {
        sent = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new AssertionError(e);
      }
    }

    ByteString next(int n) {
      byte[] b = new byte[n];
      random.nextBytes(b);
      sent.update(b);
      return ByteString.copyFrom(b);
    }

    String sha256() {
      return HexFormat.of().formatHex(sent.digest());
    }
  }
}
