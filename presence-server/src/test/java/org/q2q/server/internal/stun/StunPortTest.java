package org.q2q.server.internal.stun;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.q2q.server.LoopbackServer;
import org.q2q.server.PresenceServer;
import org.q2q.server.StunStats;
import org.q2q.stun.StunCodec;

/** The presence server's UDP port, over real loopback UDP. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StunPortTest {
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
  }

  private PresenceServer start(java.util.function.Consumer<PresenceServer.Builder> customize) throws IOException {
    LoopbackServer s = LoopbackServer.start("localhost", customize);
    open.add(s);
    return s.server();
  }

  private DatagramSocket client() throws IOException {
    DatagramSocket d = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
    d.setSoTimeout(2000);
    open.add(d);
    return d;
  }

  private static byte[] exchange(DatagramSocket d, int port, byte[] request, int waitMillis) throws IOException {
    d.send(new DatagramPacket(request, request.length, new InetSocketAddress("127.0.0.1", port)));
    return receive(d, waitMillis);
  }

  private static byte[] receive(DatagramSocket d, int waitMillis) throws IOException {
    d.setSoTimeout(waitMillis);
    byte[] buf = new byte[70_000];
    DatagramPacket p = new DatagramPacket(buf, buf.length);
    try {
      d.receive(p);
    } catch (SocketTimeoutException e) {
      return null;
    }
    return Arrays.copyOf(buf, p.getLength());
  }

  private static byte[] tx(int seed) {
    byte[] t = new byte[12];
    new Random(seed).nextBytes(t);
    return t;
  }

  @Test
  void theUdpPortHasTheTcpPortsNumberAndAnswersWithTheReflexiveAddress() throws Exception {
    PresenceServer s = start(b -> {});
    assertThat(s.udpPort()).isEqualTo(s.port());
    DatagramSocket d = client();
    byte[] answer = exchange(d, s.udpPort(), StunCodec.bindingRequest(tx(1)), 2000);
    assertThat(answer).isNotNull();
    StunCodec.BindingSuccess ok = StunCodec.readBindingSuccess(ByteBuffer.wrap(answer));
    assertThat(ok.answers(tx(1))).isTrue();
    assertThat(ok.mapped()).isEqualTo(d.getLocalSocketAddress());
    assertThat(answer.length).isEqualTo(32); // a 28-byte request: XOR-MAPPED-ADDRESS only
  }

  @Test
  void aStandardStunClientGetsTheReflexiveAddress() throws Exception {
    String tool = "/usr/bin/turnutils_stunclient";
    if (!new java.io.File(tool).canExecute()) {
      System.out.println("SKIPPED: " + tool + " is missing (Debian package coturn)");
      Assumptions.abort(tool + " is missing (install the Debian package coturn)");
    }
    PresenceServer s = start(b -> {});
    Process p = new ProcessBuilder(tool, "-p", Integer.toString(s.udpPort()), "127.0.0.1")
        .redirectErrorStream(true).start();
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("turnutils_stunclient finished").isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    System.out.println("turnutils_stunclient said:\n" + out);
    Matcher m = Pattern.compile("UDP reflexive addr: 127\\.0\\.0\\.1:(\\d+)").matcher(out);
    assertThat(m.find()).as("a reflexive address in:\n%s", out).isTrue();
    assertThat(Integer.parseInt(m.group(1))).isBetween(1, 65535);
    assertThat(s.stunStats().answers()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void garbageTruncatedOversizedAndForeignDatagramsAreDroppedAndTheServerKeepsServing() throws Exception {
    PresenceServer s = start(b -> {});
    DatagramSocket d = client();
    InetSocketAddress to = new InetSocketAddress("127.0.0.1", s.udpPort());
    List<byte[]> bad = new ArrayList<>();
    Random r = new Random(3);
    for (int i = 0; i < 50; i++) {
      byte[] g = new byte[r.nextInt(200)];
      r.nextBytes(g);
      g[0] |= (byte) 0x80; // never STUN-shaped
      bad.add(g);
    }
    byte[] request = StunCodec.bindingRequest(tx(2));
    bad.add(Arrays.copyOf(request, 24)); // truncated
    byte[] oversized = new byte[60_000];
    System.arraycopy(request, 0, oversized, 0, request.length);
    bad.add(oversized); // a STUN header on 60 KB (arrives truncated to the receive slot)
    byte[] allocate = request.clone();
    allocate[1] = 0x03; // TURN Allocate
    bad.add(allocate);
    byte[] indication = request.clone();
    indication[1] = 0x11;
    bad.add(indication);
    byte[] ptcp = new byte[40];
    ptcp[0] = (byte) 0xD7;
    ptcp[1] = 1;
    bad.add(ptcp);
    bad.add("NAT!".getBytes(StandardCharsets.US_ASCII));
    bad.add(new byte[0]);
    for (byte[] b : bad) {
      d.send(new DatagramPacket(b, b.length, to));
    }
    byte[] answer = exchange(d, s.udpPort(), StunCodec.bindingRequest(tx(3)), 2000);
    // the only answer is the one to the good request
    assertThat(StunCodec.readBindingSuccess(ByteBuffer.wrap(answer)).answers(tx(3))).isTrue();
    assertThat(receive(d, 300)).isNull();
    StunStats st = s.stunStats();
    assertThat(st.answers()).isEqualTo(1);
    assertThat(st.dropped()).isEqualTo(bad.size());
    assertThat(st.datagrams()).isEqualTo(bad.size() + 1);
  }

  @Test
  void answersPerSourceAreRateLimited() throws Exception {
    PresenceServer s = start(b -> b.stunRateLimit(1, 5, 10_000));
    DatagramSocket d = client();
    InetSocketAddress to = new InetSocketAddress("127.0.0.1", s.udpPort());
    long t0 = System.nanoTime();
    for (int i = 0; i < 100; i++) {
      byte[] q = StunCodec.bindingRequest(tx(100 + i));
      d.send(new DatagramPacket(q, q.length, to));
    }
    int got = 0;
    while (receive(d, 500) != null) {
      got++;
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("rate limit: %d answers to 100 requests in %.2f s (burst 5, 1/s)%n", got, seconds);
    assertThat(got).isBetween(5, 5 + (int) Math.ceil(seconds) + 1);
    assertThat(s.stunStats().rateLimited()).isEqualTo(100 - got);
    // another source address is not affected
    DatagramSocket other = new DatagramSocket(new InetSocketAddress("127.0.0.2", 0));
    open.add(other);
    assertThat(exchange(other, s.udpPort(), StunCodec.bindingRequest(tx(7)), 2000)).isNotNull();
  }

  @Test
  void noAnswerIsLargerThanTheRequestOrTheMinimalAnswer() throws Exception {
    PresenceServer s = start(b -> b.stunRateLimit(1000, 1000, 10_000));
    DatagramSocket d = client();
    long in = 0;
    long out = 0;
    for (int size = 20; size <= 200; size += 4) {
      ByteBuffer q = ByteBuffer.allocate(size);
      q.putShort((short) 1).putShort((short) (size - 20)).putInt(StunCodec.MAGIC_COOKIE).put(tx(size));
      if (size > 20) {
        q.putShort((short) StunCodec.PADDING).putShort((short) (size - 24));
      }
      byte[] a = exchange(d, s.udpPort(), q.array(), 2000);
      assertThat(a).as("answer to %d bytes", size).isNotNull();
      assertThat(a.length).as("answer to %d bytes", size).isLessThanOrEqualTo(Math.max(size, 32));
      assertThat(StunCodec.readBindingSuccess(ByteBuffer.wrap(a)).mapped()).isEqualTo(d.getLocalSocketAddress());
      in += size;
      out += a.length;
    }
    StunStats st = s.stunStats();
    assertThat(st.bytesOut()).isEqualTo(out).isLessThanOrEqualTo(in);
    System.out.printf("answered %d B of requests with %d B%n", in, out);
  }

  @Test
  void ipv6SourcesGetAnIpv6Answer() throws Exception {
    InetAddress six;
    try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress("::1", 0))) {
      six = probe.getLocalAddress();
    } catch (IOException e) {
      Assumptions.abort("no IPv6 loopback here: " + e);
      return;
    }
    PresenceServer s = start(b -> b.bindHost("::1"));
    DatagramSocket d = new DatagramSocket(new InetSocketAddress(six, 0));
    open.add(d);
    byte[] q = StunCodec.bindingRequest(tx(9));
    d.send(new DatagramPacket(q, q.length, new InetSocketAddress(six, s.udpPort())));
    byte[] a = receive(d, 2000);
    assertThat(a).hasSize(44);
    assertThat(StunCodec.readBindingSuccess(ByteBuffer.wrap(a)).mapped()).isEqualTo(d.getLocalSocketAddress());
  }

  @Test
  void aFixedPortWhoseUdpNumberIsTakenFailsToStartNamingIt() throws Exception {
    int port;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      port = free.getLocalPort(); // free for TCP now; squat its UDP number
    }
    try (DatagramSocket squatter = new DatagramSocket(new InetSocketAddress("127.0.0.1", port))) {
      assertThatThrownBy(() -> start(b -> b.port(port)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("udp")
          .hasMessageContaining(Integer.toString(port));
    }
  }

  @Test
  void aServerOnAllInterfacesAnswersFromTheAddressItWasAsked() throws Exception {
    PresenceServer s = start(b -> b.bindHost(null));
    DatagramSocket d = client();
    d.connect(new InetSocketAddress("127.0.0.1", s.udpPort())); // drops datagrams from any other source
    byte[] answer = exchange(d, s.udpPort(), StunCodec.bindingRequest(tx(11)), 2000);
    assertThat(answer).isNotNull();
    assertThat(StunCodec.readBindingSuccess(ByteBuffer.wrap(answer)).mapped()).isEqualTo(d.getLocalSocketAddress());
  }

  @Test
  void udpCanBeTurnedOff() throws Exception {
    PresenceServer s = start(b -> b.udp(false));
    assertThat(s.udpPort()).isZero();
    assertThat(s.stunStats().datagrams()).isZero();
  }
}
