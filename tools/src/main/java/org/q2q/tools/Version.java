package org.q2q.tools;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code q2q --version}: the Maven project version, filtered into a resource at build time. */
final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() throws IOException {
    Properties p = new Properties();
    try (InputStream in = Version.class.getResourceAsStream("/org/q2q/tools/version.properties")) {
      if (in != null) {
        p.load(in);
      }
    }
    return new String[] {
      "q2q " + p.getProperty("version", "(unknown version)"),
      "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
    };
  }
}
