package org.q2q.client.internal.punch;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.q2q.client.internal.punch.HolePunch.Role;
import org.q2q.ptcp.PtcpConfig;
import org.q2q.ptcp.netty.PtcpSocket;

/**
 * NAT lab program (bench/natlab/natlab.sh punchtest), not a unit test: one side of a hole punch
 * through real kernel NAT, with the candidate exchange done through files instead of the presence
 * server (the namespaces share the file system). It learns its reflexive address from the
 * presence server's UDP port, writes its candidates, reads the peer's, punches, and the connector
 * then runs a PTCP echo on the path. Prints one result line; exit 0 punched (and echoed), 3 failed.
 *
 * <pre>java -cp q2q.jar:test-classes org.q2q.client.internal.punch.LabPunch
 *     connector|listener LISTENER_ID STUN_HOST:PORT EXCHANGE_DIR MY_NAME PEER_NAME</pre>
 */
public final class LabPunch {
  private LabPunch() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: LabPunch connector|listener ID STUN_HOST:PORT DIR ME PEER");
      System.exit(2);
    }
    Role role = args[0].equals("connector") ? Role.CONNECTOR : Role.LISTENER;
    String id = args[1];
    InetSocketAddress stun = parse(args[2]);
    Path dir = Path.of(args[3]);
    String me = args[4];
    String peer = args[5];
    EventLoopGroup group = PtcpSocket.newEventLoopGroup(1);
    PtcpSocket socket = PtcpSocket.bind(group, new InetSocketAddress(0), PtcpConfig.defaults()).sync().getNow();
    int code = 1;
    try {
      PunchSocket ps = PunchSocket.on(socket);
      LinkedBlockingQueue<String> served = new LinkedBlockingQueue<>();
      if (role == Role.LISTENER) {
        socket.listen(new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            served.add("echoed");
            ctx.writeAndFlush(msg);
          }
        });
      }
      InetSocketAddress reflexive = ps.reflexiveAddress(stun, Duration.ofSeconds(3)).get(5, TimeUnit.SECONDS);
      InetSocketAddress local = new InetSocketAddress(localIp(stun), socket.localAddress().getPort());
      List<InetSocketAddress> mine = List.of(local, reflexive);
      Path tmp = dir.resolve(me + ".tmp");
      Files.writeString(tmp, mine.get(0).getAddress().getHostAddress() + ":" + local.getPort() + "\n"
          + reflexive.getAddress().getHostAddress() + ":" + reflexive.getPort() + "\n");
      Files.move(tmp, dir.resolve(me + ".cand"), StandardCopyOption.ATOMIC_MOVE);
      Path theirs = dir.resolve(peer + ".cand");
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (!Files.exists(theirs)) {
        if (System.nanoTime() > until) {
          throw new IOException("no candidates from " + peer + " in " + theirs);
        }
        Thread.sleep(20);
      }
      List<InetSocketAddress> remote = new ArrayList<>();
      for (String line : Files.readAllLines(theirs)) {
        if (!line.isBlank()) {
          remote.add(parse(line.trim()));
        }
      }
      if (role == Role.CONNECTOR) {
        Thread.sleep(50); // the connector starts when BindUdp returns: about a server round trip later
      }
      System.out.printf("%s %s: ours %s, theirs %s%n", me, role, mine, remote);
      code = 3; // until punched (and echoed)
      long t0 = System.nanoTime();
      InetSocketAddress path;
      try {
        path = ps.punch(role, id, remote, mine, HolePunch.Schedule.DEFAULT,
            e -> System.out.printf("%s   %s round %d %s%n", me, e.type(), e.round(), e.address() == null ? "" : e.address()))
            .get(10, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        System.out.printf("%s RESULT FAILED after %d ms: %s%n", me, (System.nanoTime() - t0) / 1_000_000,
            e.getCause().getMessage());
        return;
      }
      long punchedMs = (System.nanoTime() - t0) / 1_000_000;
      if (role == Role.CONNECTOR) {
        LinkedBlockingQueue<String> echo = new LinkedBlockingQueue<>();
        Channel ch = socket.connect(path, new ChannelInboundHandlerAdapter() {
          @Override
          public void channelRead(ChannelHandlerContext ctx, Object msg) {
            echo.add(((ByteBuf) msg).toString(StandardCharsets.UTF_8));
            ((ByteBuf) msg).release();
          }
        }).sync().getNow();
        ch.writeAndFlush(Unpooled.copiedBuffer("through the NAT", StandardCharsets.UTF_8));
        String got = echo.poll(5, TimeUnit.SECONDS);
        long echoMs = (System.nanoTime() - t0) / 1_000_000;
        if (!"through the NAT".equals(got)) {
          System.out.printf("%s RESULT PUNCHED via %s in %d ms but the PTCP echo failed (%s)%n", me, path, punchedMs, got);
          return;
        }
        System.out.printf("%s RESULT PUNCHED via %s in %d ms; PTCP echo after %d ms%n", me, path, punchedMs, echoMs);
        ch.close().sync();
      } else {
        String s = served.poll(5, TimeUnit.SECONDS);
        System.out.printf("%s RESULT PUNCHED via %s in %d ms; %s%n", me, path, punchedMs,
            s == null ? "no PTCP connection came" : "served a PTCP echo");
        if (s == null) {
          return;
        }
      }
      code = 0;
    } finally {
      socket.close().sync();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
      System.exit(code);
    }
  }

  private static InetSocketAddress parse(String hostPort) throws IOException {
    int colon = hostPort.lastIndexOf(':');
    return new InetSocketAddress(InetAddress.getByName(hostPort.substring(0, colon)),
        Integer.parseInt(hostPort.substring(colon + 1)));
  }

  private static InetAddress localIp(InetSocketAddress toward) throws IOException {
    try (DatagramSocket probe = new DatagramSocket()) {
      probe.connect(toward);
      return probe.getLocalAddress();
    }
  }
}
