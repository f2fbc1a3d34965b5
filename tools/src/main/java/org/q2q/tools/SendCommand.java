package org.q2q.tools;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.client.Q2qClient;
import org.q2q.client.VirtualChannel;
import org.q2q.client.files.FileSender;
import org.q2q.client.files.FileSet;
import org.q2q.client.files.FileTransfer;
import org.q2q.client.files.FileTransferException;
import org.q2q.client.files.Offer;
import org.q2q.client.files.TransferProgress;
import org.q2q.tools.ExitCodes.CommandFailedException;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q2q send TO PATH...}: send files and folders to an address that runs {@code q2q receive}. */
@Command(
    name = "send",
    mixinStandardHelpOptions = true,
    description = {
      "Send files and folders to TO, which must be running 'q2q receive'.",
      "End-to-end encrypted; streamed file by file (no archive is built first); empty files and folders",
      "are kept, and so is the owner's execute bit. Symbolic links inside a folder are not followed: they are skipped, with a note.",
      "The receiver first accepts or refuses the whole offer (and says why), checks a SHA-256 for every",
      "1 MiB as it arrives, and confirms each file stored and verified; send exits 0 only if every one was.",
      "Sending the same files again after an interruption resumes: verified chunks are not sent twice.",
      "Prints the path that carried the data, a progress bar on a terminal (plain lines otherwise,",
      "nothing with --quiet), and a summary."
    })
final class SendCommand implements Callable<Integer> {
  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Option(names = "--transport", paramLabel = "auto|direct|ptcp|relay", defaultValue = "auto",
      description = TransportOption.HELP)
  TransportOption transport;

  @Option(names = {"-q", "--quiet"}, description = "Print no progress (the summary and errors still).")
  boolean quiet;

  @Option(names = "--idle-timeout", paramLabel = "SECONDS", defaultValue = "60",
      description = "Give up when nothing moved for this long (default: ${DEFAULT-VALUE}).")
  double idleTimeout;

  @Parameters(index = "0", paramLabel = "TO", description = "The receiver's address, e.g. bob@example.com.")
  String to;

  @Parameters(index = "1..*", arity = "1..*", paramLabel = "PATH", description = "Files and folders to send.")
  List<Path> paths;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    Address target = Address.parse(to);
    if (target.isDomain()) {
      throw new UsageException("'" + target + "' is a domain; send to a user address such as bob@" + target);
    }
    if (!(idleTimeout > 0)) {
      throw new UsageException("--idle-timeout must be positive");
    }
    FileSet files;
    try {
      files = FileSet.of(paths);
    } catch (IOException e) {
      throw new UsageException(e.getMessage());
    }
    Offer offer = files.offer();
    ClientHome home = env.home();
    Identity id = identity.resolve(home);
    PrintWriter out = spec.commandLine().getOut();
    Q2qClient.Builder b = Q2qClient.builder(home, id).environment(env.env())
        .peerFlowControl(FileTransfer.CHANNEL_BUFFER, FileTransfer.SESSION_WINDOW);
    if (Main.of(spec).verbose()) {
      b.connectionListener(new AttemptLog(spec.commandLine().getErr(), System::nanoTime));
    }
    if (server.given() != null) {
      b.server(server.given());
    }
    try (Q2qClient client = b.build()) {
      VirtualChannel ch;
      try {
        ch = client.connect(target, FileTransfer.SERVICE, transport.value).get();
      } catch (ExecutionException e) {
        throw e.getCause() instanceof Exception x ? x : e;
      }
      String what = offer.entries().size() == 1 && offer.count(Offer.Kind.FILE) == 1
          ? org.q2q.client.files.RemoteText.printable(offer.entries().get(0).path()) : offer.describe();
      out.println("sending " + what + " (" + ByteSizes.format(offer.totalBytes()) + ") to " + target + " via " + ch.route());
      for (Offer.Entry e : offer.entries()) {
        if (e.kind() == Offer.Kind.SKIPPED) {
          out.println("note: '" + org.q2q.client.files.RemoteText.printable(e.path()) + "' is a symbolic link or special file: not sent (links are never followed)");
        }
      }
      out.flush();
      boolean terminal = System.console() != null;
      BarMeter bar = terminal && !quiet ? new BarMeter("sending") : null;
      TransferProgress meter = quiet ? TransferProgress.NONE
          : bar != null ? bar : new PlainMeter(out, Clock.systemUTC(), Duration.ofSeconds(1));
      TransferProgress reporting = new TransferProgress() {
        @Override
        public void started(long total, long skipped) {
          if (skipped > 0) {
            out.println("resuming: " + ByteSizes.format(skipped) + " of " + ByteSizes.format(total) + " already at "
                + target + " (its chunk hashes match these files): not sent again");
            out.flush();
          }
          meter.started(total, skipped);
        }

        @Override
        public void update(long done, long total) {
          meter.update(done, total);
        }
      };
      FileSender.Sent sent;
      try {
        sent = new FileSender(Clock.systemUTC(), Duration.ofMillis((long) (idleTimeout * 1000))).send(ch, files, reporting);
      } catch (FileTransferException e) {
        throw new CommandFailedException(ExitCodes.FAILURE, e.getMessage());
      } finally {
        if (bar != null) {
          bar.close();
        }
      }
      for (String note : sent.notes()) {
        out.println(target + ": " + note);
      }
      long moved = sent.bytes() - sent.skippedBytes();
      out.println("sent " + what + " (" + ByteSizes.format(sent.bytes()) + ") to " + target + " via " + ch.route()
          + " in " + ByteSizes.seconds(sent.elapsed()) + " (" + ByteSizes.rate(moved, sent.elapsed()) + ")"
          + (sent.skippedBytes() > 0 ? ", " + ByteSizes.format(sent.skippedBytes()) + " of it resumed" : "")
          + ": all stored and verified by " + target + " (SHA-256 per 1 MiB chunk and per file)");
      out.flush();
      return ExitCodes.OK;
    }
  }
}
