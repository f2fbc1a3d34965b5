package org.q2q.tools;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.client.Q2qClient;
import org.q2q.client.VirtualChannel;
import org.q2q.client.files.FileSender;
import org.q2q.client.files.FileTransfer;
import org.q2q.client.files.FileTransferException;
import org.q2q.client.files.TransferProgress;
import org.q2q.tools.ExitCodes.CommandFailedException;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q2q send TO PATH}: send one file to an address that runs {@code q2q receive}. */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    description = {
      "Send a file to TO, which must be running 'q2q receive'. The bytes are end-to-end encrypted;",
      "the receiver checks the SHA-256 and confirms, otherwise send exits non-zero.",
      "Prints which path carried the data, progress on a terminal (or with --progress), and a summary."
    })
final class SendCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Option(names = "--transport", paramLabel = "auto|direct|ptcp|relay", defaultValue = "auto",
      description = TransportOption.HELP)
  TransportOption transport;

  @Option(names = "--progress", description = "Print progress lines even when standard output is not a terminal.")
  boolean progress;

  @Parameters(index = "0", paramLabel = "TO", description = "The receiver's address, e.g. bob@example.com.")
  String to;

  @Parameters(index = "1", paramLabel = "PATH", description = "The file to send.")
  Path path;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    Address target = Address.parse(to);
    if (target.isDomain()) {
      throw new UsageException("'" + target + "' is a domain; send to a user address such as bob@" + target);
    }
    if (!Files.isRegularFile(path)) {
      throw new UsageException(path + (Files.exists(path) ? " is not a regular file" : " does not exist"));
    }
    if (!Files.isReadable(path)) {
      throw new UsageException(path + " is not readable");
    }
    ClientHome home = env.home();
    Identity id = identity.resolve(home);
    PrintWriter out = spec.commandLine().getOut();
    Q2qClient.Builder b = Q2qClient.builder(home, id.address()).environment(env.env())
        .peerFlowControl(FileTransfer.CHANNEL_BUFFER, FileTransfer.SESSION_WINDOW);
    if (Main.of(spec).verbose()) {
      b.connectionListener(new AttemptLog(spec.commandLine().getErr(), System::nanoTime));
    }
    if (server.given() != null) {
      b.server(server.given());
    }
    long size = Files.size(path);
    try (Q2qClient client = b.build()) {
      VirtualChannel ch;
      try {
        ch = client.connect(target, FileTransfer.SERVICE, transport.value).get();
      } catch (ExecutionException e) {
        throw e.getCause() instanceof Exception x ? x : e;
      }
      out.println("sending " + path.getFileName() + " (" + ByteSizes.format(size) + ") to " + target + " via " + ch.route());
      out.flush();
      boolean terminal = System.console() != null;
      TransferProgress meter = terminal || progress ? new Meter(out, terminal, Clock.systemUTC()) : TransferProgress.NONE;
      FileSender.Sent sent;
      try {
        sent = new FileSender(Clock.systemUTC()).send(ch, path, meter);
      } catch (FileTransferException e) {
        if (terminal) {
          out.println();
        }
        throw new CommandFailedException(ExitCodes.FAILURE, e.getMessage());
      }
      if (terminal) {
        out.println();
      }
      out.println("sent " + sent.name() + ": " + ByteSizes.format(sent.size()) + " in " + ByteSizes.seconds(sent.elapsed())
          + " (" + ByteSizes.rate(sent.size(), sent.elapsed()) + "), stored and verified by " + target
          + " (SHA-256 " + sent.sha256().substring(0, 16) + "...)");
      out.flush();
      return ExitCodes.OK;
    }
  }

  /** Progress: a self-overwriting line on a terminal, else a line per second (with --progress). */
  static final class Meter implements TransferProgress {
    private final PrintWriter out;
    private final boolean terminal;
    private final Clock clock;
    private final long start;
    private long last;

    Meter(PrintWriter out, boolean terminal, Clock clock) {
      this.out = out;
      this.terminal = terminal;
      this.clock = clock;
      this.start = clock.millis();
      this.last = start;
    }

    @Override
    public void update(long done, long total) {
      long now = clock.millis();
      if (now - last < (terminal ? 200 : 1000) && done < total) {
        return;
      }
      last = now;
      String line = String.format(java.util.Locale.ROOT, "%s / %s (%d%%) %s", ByteSizes.format(done),
          ByteSizes.format(total), total == 0 ? 100 : done * 100 / total,
          ByteSizes.rate(done, Duration.ofMillis(now - start)));
      if (terminal) {
        out.print("\r" + line + "   ");
      } else {
        out.println("progress: " + line);
      }
      out.flush();
    }
  }
}
