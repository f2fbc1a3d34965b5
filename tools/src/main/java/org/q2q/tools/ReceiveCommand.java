package org.q2q.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.Address;
import org.q2q.certstore.AddressFormatException;
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

/** {@code q2q receive}: accept files and folders sent with {@code q2q send} into a folder. */
@Command(
    name = "receive",
    mixinStandardHelpOptions = true,
    description = {
      "Receive files and folders sent to this address with 'q2q send' into DIR (default: the current folder).",
      "Accepts senders of this address's own domain only, unless --from says whom; the 'ready:' line says",
      "whom it accepts. Every offer is checked whole first: names with '..', absolute paths, device names,",
      "control, bidi or zero-width characters, a leading dot (unless --allow-hidden), or too large for the",
      "free space are refused, and the sender told why. Each 1 MiB is checked against its SHA-256 before it",
      "is written; a file is written under a temporary name in DIR/.q2q-partial, forced to disk and renamed",
      "into place, never over an existing file (it becomes 'name (1).ext', and both sides are told) unless",
      "--overwrite. An interrupted transfer keeps its verified part there and resumes when sent again.",
      "Shows each transfer's progress: a bar on a terminal, plain lines every 10 s otherwise, none with --quiet.",
      "Runs until interrupted, or until one transfer ended with --once (exit code 0 if it was stored intact)."
    })
final class ReceiveCommand implements Callable<Integer> {

  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".", description = "Where to store files (created if missing).")
  Path dir;

  @Option(names = "--from", paramLabel = "ADDRESS|@DOMAIN",
      description = "Accept only this sender, or anyone at this domain (repeatable). Default: this address's own domain.")
  List<String> from = new ArrayList<>();

  @Option(names = "--overwrite", description = "Replace existing files of the same name instead of choosing a new name.")
  boolean overwrite;

  @Option(names = {"-q", "--quiet"}, description = "Print no progress (start and end of each transfer, and errors, still).")
  boolean quiet;

  @Option(names = "--allow-hidden", description = "Accept names that start with a dot (e.g. .bashrc, .git/...).")
  boolean allowHidden;

  @Option(names = "--idle-timeout", paramLabel = "SECONDS", defaultValue = "60",
      description = "Abandon a transfer when nothing moved for this long (default: ${DEFAULT-VALUE}).")
  double idleTimeout;

  @Option(names = "--max-transfers", paramLabel = "N", defaultValue = "4",
      description = "Transfers received at once; a sender past them is refused as busy and may try again later (default: ${DEFAULT-VALUE}).")
  int maxTransfers;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "0",
      description = "TCP port on which senders may connect directly (default: a random free one; 0 too).")
  int port;

  @Option(names = "--udp-port", paramLabel = "PORT", defaultValue = "0",
      description = "UDP port for PTCP, the hole-punched transport through NATs (default: a random free one).")
  int udpPort;

  @Option(names = "--no-direct", description = "Accept no direct connections (TCP or PTCP): every transfer takes the presence server's relay.")
  boolean noDirect;

  @Option(names = "--once", description = "Exit after one transfer (exit code 0 if every file was stored intact, 1 if not).")
  boolean once;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    Set<Address> senders = new LinkedHashSet<>();
    Set<String> domains = new LinkedHashSet<>();
    for (String f : from) {
      try {
        Address a = Address.parse(f.startsWith("@") ? f.substring(1) : f);
        if (a.isDomain()) {
          domains.add(a.domain());
        } else {
          senders.add(a);
        }
      } catch (AddressFormatException e) {
        throw new UsageException("--from " + f + ": " + e.getMessage());
      }
    }
    if (maxTransfers < 1) {
      throw new UsageException("--max-transfers must be at least 1");
    }
    if (!(idleTimeout > 0)) {
      throw new UsageException("--idle-timeout must be positive");
    }
    Files.createDirectories(dir);
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      throw new UsageException(dir + " is not a writable folder");
    }
    Path folder = dir.toAbsolutePath().normalize();
    ClientHome home = env.home();
    Identity id = identity.resolve(home);
    if (from.isEmpty()) {
      domains.add(id.address().domain());
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (port < 0 || port > 65535 || udpPort < 0 || udpPort > 65535) {
      throw new UsageException("--port and --udp-port must be in 0..65535");
    }
    Q2qClient.Builder b = Q2qClient.builder(home, id).environment(env.env())
        .tcpPort(port).directTcp(!noDirect).udpPort(udpPort).ptcp(!noDirect)
        .peerFlowControl(FileTransfer.CHANNEL_BUFFER, FileTransfer.SESSION_WINDOW);
    if (server.given() != null) {
      b.server(server.given());
    }
    CompletableFuture<Boolean> first = new CompletableFuture<>();
    FileReceiver receiver = new FileReceiver(folder, receiverOptions(), Clock.systemUTC());
    String whom = describe(senders, domains, from.isEmpty());
    try (Q2qClient client = b.build()) {
      client.addPresenceListener(PresenceNotices.to(err));
      java.util.Map<Address, Long> declined = new java.util.concurrent.ConcurrentHashMap<>();
      AcceptPolicy policy = (sender, service) -> {
        if (senders.contains(sender) || domains.contains(sender.domain())) {
          return AcceptPolicy.Decision.accept();
        }
        // said here too, once a minute per sender at most: a refused sender may try again and again
        long now = System.nanoTime();
        Long last = declined.get(sender);
        if (last == null || now - last > java.util.concurrent.TimeUnit.MINUTES.toNanos(1)) {
          if (declined.size() > 1000) {
            declined.clear();
          }
          declined.put(sender, now);
          print(err, "q2q: declined files from " + sender + " (accept them with --from " + sender
              + " or --from @" + sender.domain() + ")");
        }
        return AcceptPolicy.Decision.decline(sender + " is not allowed to use " + service + " here (it accepts " + whom + ")");
      };
      boolean terminal = System.console() != null;
      java.util.concurrent.atomic.AtomicBoolean barInUse = new java.util.concurrent.atomic.AtomicBoolean();
      org.q2q.client.ChannelHandler handler = ch -> {
        // one bar on a terminal, for the first of concurrent transfers (bars would overwrite each
        // other); plain lines naming the sender for the others and off a terminal
        BarMeter bar = terminal && !quiet && barInUse.compareAndSet(false, true)
            ? new BarMeter("from " + ch.remoteAddress()) : null;
        TransferProgress meter = quiet ? TransferProgress.NONE : bar != null ? bar
            : new PlainMeter(out, "progress from " + ch.remoteAddress(), Clock.systemUTC(),
                Duration.ofSeconds(terminal ? 1 : 10));
        try {
          FileReceiver.Received r = receiver.receive(ch, new TransferProgress() {
            @Override
            public void started(long total, long skipped) {
              print(out, "receiving " + ByteSizes.format(total) + " from " + ch.remoteAddress()
                  + (skipped > 0 ? " (" + ByteSizes.format(skipped) + " already here from an interrupted transfer: resumed)" : ""));
              synchronized (out) {
                meter.started(total, skipped);
              }
            }

            @Override
            public void update(long done, long total) {
              synchronized (out) {
                meter.update(done, total);
              }
            }
          });
          if (bar != null) {
            bar.close(); // before the summary line
          }
          for (String note : r.notes()) {
            print(out, "note: " + note);
          }
          List<String> names = r.names().size() <= 5 ? r.names() : r.names().subList(0, 5);
          print(out, "received " + r.files() + (r.files() == 1 ? " file" : " files")
              + (r.folders() > 0 ? ", " + r.folders() + (r.folders() == 1 ? " folder" : " folders") : "")
              + " (" + ByteSizes.format(r.bytes()) + ") from " + r.from() + " into " + folder + ": "
              + names.stream().map(org.q2q.client.files.RemoteText::printable).reduce((x, y) -> x + ", " + y).orElse("")
              + (r.names().size() > 5 ? ", ..." : "") + " in " + ByteSizes.seconds(r.elapsed())
              + (r.resumedBytes() > 0 ? " (" + ByteSizes.format(r.resumedBytes()) + " resumed)" : "")
              + "; every file verified (SHA-256 per 1 MiB chunk and per file) and synced to disk");
          first.complete(true);
        } catch (FileTransferException e) {
          print(err, "q2q: " + e.getMessage());
          first.complete(false);
        } catch (RuntimeException e) {
          print(err, "q2q: receiving from " + ch.remoteAddress() + " failed: " + e); // M9: never leave --once waiting
          first.complete(false);
        } finally {
          if (bar != null) {
            bar.close();
            barInUse.set(false);
          }
        }
      };
      ListenerRegistration reg;
      try {
        reg = client.listen(FileTransfer.SERVICE, "q2q receive: files into a folder", policy, handler);
      } catch (IllegalStateException e) {
        throw new CommandFailedException(ExitCodes.FAILURE, e.getMessage()); // e.g. --port in use
      }
      Registrations.await(reg.ready(), client, "cannot receive files for " + id.address());
      print(out, "ready: receiving files for " + id.address() + " into " + folder + " from " + whom
          + (from.isEmpty() ? " (accept others with --from ADDRESS or --from @DOMAIN)" : "")
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

  /** "anyone at @example.com only", "alice@a.com, anyone at @b.org only". */
  static String describe(Set<Address> senders, Set<String> domains, boolean byDefault) {
    List<String> parts = new ArrayList<>();
    for (Address a : senders) {
      parts.add(a.toString());
    }
    for (String d : domains) {
      parts.add("anyone at @" + d);
    }
    return String.join(", ", parts) + " only" + (byDefault ? " (its own domain)" : "");
  }

  private static void print(PrintWriter w, String line) {
    synchronized (w) {
      w.println(line);
      w.flush();
    }
  }

  /** The receiver's options from the command line. */
  FileReceiver.Options receiverOptions() {
    return FileReceiver.Options.defaults()
        .withOverwrite(overwrite).withAllowHidden(allowHidden)
        .withIdleTimeout(Duration.ofMillis((long) (idleTimeout * 1000))).withMaxConcurrent(maxTransfers);
  }
}
