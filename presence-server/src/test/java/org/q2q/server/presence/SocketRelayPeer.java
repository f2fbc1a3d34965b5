package org.q2q.server.presence;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.KeyStore;
import java.time.Clock;
import java.util.Optional;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.q2q.certstore.AddressTrustManager;
import org.q2q.certstore.Identity;
import org.q2q.proto.RelayHello;
import org.q2q.proto.RelayRole;
import org.q2q.proto.RelaySocketFrame;
import org.q2q.server.PresenceServer;

/**
 * A relay socket client built from the JDK alone (plain {@link Socket}, {@link SSLSocket} layered
 * on it), speaking the protocol of {@code q2q-relay/1} step by step: TLS with ALPN and the
 * identity's certificate, the hello, the answer; once spliced it leaves TLS (the SSLSocket is
 * dropped without close_notify), sends 0x51 and gives the raw socket.
 */
final class SocketRelayPeer implements AutoCloseable {
  final Socket raw;
  /** The server's answer. */
  final RelaySocketFrame answer;
  /**
   * The TLS socket left behind, held so that it is never finalized while the raw socket is in use:
   * the JDK's SSLSocket closes itself when finalized, writing a close_notify into the raw stream.
   */
  @SuppressWarnings("unused")
  private final SSLSocket tls;

  private SocketRelayPeer(Socket raw, SSLSocket tls, RelaySocketFrame answer) {
    this.raw = raw;
    this.tls = tls;
    this.answer = answer;
  }

  /**
   * Connects as {@code role} for {@code listenerId}, waits for the answer; spliced: the ACK is sent.
   *
   * @param receiveBuffer SO_RCVBUF of the socket (0: the system's)
   */
  static SocketRelayPeer open(PresenceServer server, Identity who, String listenerId, RelayRole role,
      int receiveBuffer) throws Exception {
    Socket raw = new Socket();
    if (receiveBuffer > 0) {
      raw.setReceiveBufferSize(receiveBuffer);
      raw.setSendBufferSize(receiveBuffer);
    }
    raw.connect(new InetSocketAddress("127.0.0.1", server.relaySocketPort()), 5000);
    raw.setSoTimeout(20_000);
    SSLSocket tls = handshake(raw, server, who);
    sendHello(tls, listenerId, role);
    RelaySocketFrame answer = readAnswer(tls.getInputStream());
    if (answer.hasSpliced()) {
      raw.getOutputStream().write(0x51); // left TLS
      raw.getOutputStream().flush();
    }
    return new SocketRelayPeer(raw, tls, answer);
  }

  /** TLS and the hello only; the caller owns the raw socket (the answer is not read). */
  static Socket helloOnly(PresenceServer server, Identity who, String listenerId, RelayRole role) throws Exception {
    Socket raw = new Socket();
    raw.connect(new InetSocketAddress("127.0.0.1", server.relaySocketPort()), 5000);
    SSLSocket tls = handshake(raw, server, who);
    sendHello(tls, listenerId, role);
    return raw;
  }

  private static SSLSocket handshake(Socket raw, PresenceServer server, Identity who) throws Exception {
    SSLSocket tls = (SSLSocket) context(server, who).getSocketFactory()
        .createSocket(raw, "localhost", server.relaySocketPort(), false);
    SSLParameters p = tls.getSSLParameters();
    p.setApplicationProtocols(new String[] {"q2q-relay/1"});
    tls.setSSLParameters(p);
    tls.startHandshake();
    return tls;
  }

  private static void sendHello(SSLSocket tls, String listenerId, RelayRole role) throws IOException {
    RelayHello hello = RelayHello.newBuilder().setListenerId(listenerId).setRole(role).build();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream o = CodedOutputStream.newInstance(out);
    o.writeUInt32NoTag(hello.getSerializedSize());
    hello.writeTo(o);
    o.flush();
    tls.getOutputStream().write(out.toByteArray());
    tls.getOutputStream().flush();
  }

  static SocketRelayPeer open(PresenceServer server, Identity who, String listenerId, RelayRole role)
      throws Exception {
    return open(server, who, listenerId, role, 0);
  }

  private static RelaySocketFrame readAnswer(InputStream in) throws IOException {
    // the JDK's SSLSocket reads whole records only, so nothing raw is consumed past the answer
    int first = in.read();
    if (first < 0) {
      throw new IOException("the relay closed the connection without an answer");
    }
    int length = CodedInputStream.readRawVarint32(first, in);
    return RelaySocketFrame.parseFrom(in.readNBytes(length));
  }

  private static SSLContext context(PresenceServer server, Identity who) throws Exception {
    AddressTrustManager trust = new AddressTrustManager(
        d -> d.equals(server.domain().domain()) ? Optional.of(server.ca().certificate()) : Optional.empty(),
        AddressTrustManager.AddressCheck.exactly(server.domain()),
        Clock.systemUTC());
    KeyManagerFactory kmf = null;
    if (who != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("me", who.privateKey(), new char[0], who.chainArray());
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf == null ? null : kmf.getKeyManagers(), new TrustManager[] {trust}, null);
    return ctx;
  }

  OutputStream out() throws IOException {
    return raw.getOutputStream();
  }

  InputStream in() throws IOException {
    return raw.getInputStream();
  }

  @Override
  public void close() throws IOException {
    raw.close();
  }
}
