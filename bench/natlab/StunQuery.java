import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;

/**
 * NAT lab helper, run as a single-file program ({@code java StunQuery.java host:port...}): sends a
 * STUN Binding request (RFC 8489) from ONE UDP socket to each server given and prints
 * {@code local <addr> mapped <addr> via <server>} per server. The same mapped port toward every
 * server means an endpoint-independent (cone) mapping; a new port per server means symmetric.
 * Exit 1 if a server does not answer within 3 tries.
 */
public class StunQuery {
  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: java StunQuery.java host:port [host:port...]");
      System.exit(2);
    }
    try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(0))) {
      s.setSoTimeout(700);
      SecureRandom r = new SecureRandom();
      for (String a : args) {
        int colon = a.lastIndexOf(':');
        InetSocketAddress server = new InetSocketAddress(InetAddress.getByName(a.substring(0, colon)),
            Integer.parseInt(a.substring(colon + 1)));
        byte[] tx = new byte[12];
        r.nextBytes(tx);
        ByteBuffer q = ByteBuffer.allocate(20).putShort((short) 1).putShort((short) 0).putInt(0x2112A442).put(tx);
        InetSocketAddress mapped = null;
        for (int attempt = 0; attempt < 3 && mapped == null; attempt++) {
          s.send(new DatagramPacket(q.array(), 20, server));
          try {
            byte[] buf = new byte[1500];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            s.receive(p);
            mapped = parse(ByteBuffer.wrap(buf, 0, p.getLength()), tx);
          } catch (SocketTimeoutException e) {
            // try again
          }
        }
        if (mapped == null) {
          System.out.println("no answer from " + server);
          System.exit(1);
        }
        InetSocketAddress local = new InetSocketAddress(localIp(server), s.getLocalPort());
        System.out.println("local " + str(local) + " mapped " + str(mapped) + " via " + str(server));
      }
    }
  }

  /** The local IP the kernel picks toward {@code server}. */
  private static InetAddress localIp(InetSocketAddress server) throws Exception {
    try (DatagramSocket probe = new DatagramSocket()) {
      probe.connect(server);
      return probe.getLocalAddress();
    }
  }

  private static String str(InetSocketAddress a) {
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  /** XOR-MAPPED-ADDRESS (IPv4) of a Binding success answering {@code tx}, or null. */
  private static InetSocketAddress parse(ByteBuffer b, byte[] tx) throws Exception {
    if (b.remaining() < 20 || b.getShort(0) != 0x0101 || b.getInt(4) != 0x2112A442) {
      return null;
    }
    for (int i = 0; i < 12; i++) {
      if (b.get(8 + i) != tx[i]) {
        return null;
      }
    }
    int at = 20;
    while (at + 4 <= b.limit()) {
      int type = b.getShort(at) & 0xffff;
      int len = b.getShort(at + 2) & 0xffff;
      if (type == 0x0020 && len == 8 && b.get(at + 5) == 1) {
        int port = (b.getShort(at + 6) & 0xffff) ^ 0x2112;
        int ip = b.getInt(at + 8) ^ 0x2112A442;
        byte[] addr = ByteBuffer.allocate(4).putInt(ip).array();
        return new InetSocketAddress(InetAddress.getByAddress(addr), port);
      }
      at += 4 + ((len + 3) & ~3);
    }
    return null;
  }
}
