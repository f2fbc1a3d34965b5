package org.q2q.tools;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Test fixture: a tiny HTTP/1.x server on 127.0.0.1 whose responses are deterministic (no Date
 * header), so that a response through a tunnel can be compared byte for byte with {@link #response}.
 * One thread per connection (test scale). Paths: {@code /small} (1 KiB), {@code /big} (16 MiB),
 * {@code /reset} (the connection is reset after the request).
 */
final class TestHttpServer implements AutoCloseable {
  static final int BIG = 16 << 20;
  private static final byte[] SMALL_BODY = body(1024, 1);
  private static final byte[] BIG_BODY = body(BIG, 2);

  private final ServerSocket socket;
  final AtomicInteger requests = new AtomicInteger();

  TestHttpServer() throws IOException {
    socket = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::acceptLoop, "http-accept");
    t.setDaemon(true);
    t.start();
  }

  int port() {
    return socket.getLocalPort();
  }

  private static byte[] body(int n, long seed) {
    byte[] b = new byte[n];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  /** The exact bytes the server answers to a GET of {@code path}. */
  static byte[] response(String path) {
    byte[] body = switch (path) {
      case "/small" -> SMALL_BODY;
      case "/big" -> BIG_BODY;
      default -> "not found\n".getBytes(StandardCharsets.US_ASCII);
    };
    String status = body == SMALL_BODY || body == BIG_BODY ? "200 OK" : "404 Not Found";
    String head = "HTTP/1.1 " + status + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + body.length
        + "\r\nConnection: close\r\n\r\n";
    ByteArrayOutputStream out = new ByteArrayOutputStream(head.length() + body.length);
    out.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(body);
    return out.toByteArray();
  }

  private void acceptLoop() {
    while (!socket.isClosed()) {
      try {
        Socket s = socket.accept();
        Thread t = new Thread(() -> serve(s), "http-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      String path = readRequestPath(s.getInputStream());
      if (path == null) {
        return;
      }
      requests.incrementAndGet();
      if (path.equals("/reset")) {
        s.setSoLinger(true, 0);
        return;
      }
      OutputStream out = s.getOutputStream();
      out.write(response(path));
      out.flush();
      s.shutdownOutput();
    } catch (IOException e) {
      // the client went away
    }
  }

  /** Reads a request's head; returns its path, or null at a premature end. */
  private static String readRequestPath(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0) {
      head.append((char) c);
      if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
        String[] first = head.toString().split("\r\n", 2)[0].split(" ");
        return first.length >= 2 ? first[1] : "/";
      }
    }
    return null;
  }

  /** GETs {@code path} from {@code port} on 127.0.0.1; with {@code halfClose} the request ends with a FIN (HTTP/1.0 style). */
  static byte[] get(int port, String path, boolean halfClose) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(60_000);
      s.getOutputStream().write(("GET " + path + " HTTP/1.0\r\nHost: test\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      if (halfClose) {
        s.shutdownOutput();
      }
      return s.getInputStream().readAllBytes();
    }
  }

  /**
   * Like {@link #get}, for a connection the tunnel may refuse: returns the bytes received, or none
   * if the connection was closed or reset (a refused request was already sent, so closing it may
   * reset it).
   */
  static byte[] getOrClosed(int port, String path) throws IOException {
    try {
      return get(port, path, false);
    } catch (java.net.SocketException e) {
      return new byte[0];
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
