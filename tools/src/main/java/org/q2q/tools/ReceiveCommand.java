package org.q2q.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.client.AcceptPolicy;
import org.q2q.client.ListenerRegistration;
import org.q2q.client.Q2qClient;
import org.q2q.client.files.FileReceiver;
import org.q2q.client.files.FileTransfer;
import org.q2q.client.files.FileTransferException;
import org.q2q.client.files.TransferProgress;
import org.q2q.tools.ExitCodes.CommandFailedException;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code q2q receive}: accept files sent with {@code q2q send} into a folder. */
@Command(
    name = "receive",
    mixinStandardHelpOptions = true,
    description = {
      "Receive files sent to this address with 'q2q send' into DIR (default: the current folder).",
      "Prints 'ready: ...' once the presence server has confirmed the registration, then one line per file.",
      "A file is written under a temporary name and renamed only when complete and its SHA-256 checked;",
      "an existing file is never overwritten (the new one becomes 'name (1).ext'); names with path",
      "separators, '..', control characters or reserved device names are refused.",
      "Runs until interrupted, or until one file arrived with --once."
    })
final class ReceiveCommand implements Callable<Integer> {

  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".", description = "Where to store files (created if missing).")
  Path dir;

  @Option(names = "--from", paramLabel = "ADDRESS", description = "Accept files only from this address (repeatable); others are declined.")
  List<String> from = new ArrayList<>();

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "0",
      description = "TCP port on which senders may connect directly (default: a random free one; 0 too).")
  int port;

  @Option(names = "--udp-port", paramLabel = "PORT", defaultValue = "0",
      description = "UDP port for PTCP, the hole-punched transport through NATs (default: a random free one).")
  int udpPort;

  @Option(names = "--no-direct", description = "Accept no direct connections (TCP or PTCP): every transfer takes the presence server's relay.")
  boolean noDirect;

  @Option(names = "--once", description = "Exit after one file (exit code 0 if it was stored intact, 1 if not).")
  boolean once;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    List<Address> allowed = new ArrayList<>();
    for (String f : from) {
      allowed.add(Address.parse(f));
    }
    Files.createDirectories(dir);
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      throw new UsageException(dir + " is not a writable folder");
    }
    ClientHome home = env.home();
    Identity id = identity.resolve(home);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (port < 0 || port > 65535 || udpPort < 0 || udpPort > 65535) {
      throw new UsageException("--port and --udp-port must be in 0..65535");
    }
    Q2qClient.Builder b = Q2qClient.builder(home, id.address()).environment(env.env())
        .tcpPort(port).directTcp(!noDirect).udpPort(udpPort).ptcp(!noDirect)
        .peerFlowControl(FileTransfer.CHANNEL_BUFFER, FileTransfer.SESSION_WINDOW);
    if (server.given() != null) {
      b.server(server.given());
    }
    CompletableFuture<Boolean> first = new CompletableFuture<>();
    FileReceiver receiver = new FileReceiver(dir, Clock.systemUTC());
    try (Q2qClient client = b.build()) {
      client.addPresenceListener(PresenceNotices.to(err));
      AcceptPolicy policy = allowed.isEmpty() ? AcceptPolicy.anyone() : AcceptPolicy.onlyFrom(allowed);
      org.q2q.client.ChannelHandler handler = ch -> {
        try {
          FileReceiver.Received r = receiver.receive(ch, TransferProgress.NONE);
          print(out, "received " + r.sentName() + " (" + ByteSizes.format(r.size()) + ") from " + r.from() + " -> "
              + dir.resolve(r.path().getFileName()) + " in " + ByteSizes.seconds(r.elapsed())
              + ", SHA-256 " + r.sha256().substring(0, 16) + "... verified");
          first.complete(true);
        } catch (FileTransferException e) {
          print(err, "q2q: " + e.getMessage());
          first.complete(false);
        }
      };
      ListenerRegistration reg;
      try {
        reg = client.listen(FileTransfer.SERVICE, "q2q receive: files into a folder", policy, handler);
      } catch (IllegalStateException e) {
        throw new CommandFailedException(ExitCodes.FAILURE, e.getMessage()); // e.g. --port in use
      }
      Registrations.await(reg.ready(), client, "cannot receive files for " + id.address());
      print(out, "ready: receiving files for " + id.address() + " into " + dir
          + (allowed.isEmpty() ? "" : " (only from " + String.join(", ", from) + ")")
          + (client.directTcpPort() > 0 ? "; direct connections on TCP port " + client.directTcpPort() : "")
          + (client.udpPort() > 0 ? ", PTCP on UDP port " + client.udpPort() : "")
          + (client.directTcpPort() == 0 && client.udpPort() == 0 ? "; relay only" : ""));
      if (once) {
        return first.get() ? ExitCodes.OK : ExitCodes.FAILURE;
      }
      new CompletableFuture<Void>().get(); // until interrupted
      return ExitCodes.OK;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCodes.OK;
    }
  }

  private static void print(PrintWriter w, String line) {
    synchronized (w) {
      w.println(line);
      w.flush();
    }
  }
}
