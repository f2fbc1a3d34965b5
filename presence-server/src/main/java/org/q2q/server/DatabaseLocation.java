package org.q2q.server;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where the server's database is: the embedded SQLite file {@code q2q.db} in the data folder (the
 * default, one node), or a PostgreSQL database shared by several nodes of a domain, given as
 * {@code postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE}.
 *
 * <p>The PostgreSQL password comes from the URL, else from a password file, else from the
 * standard {@code PGPASSWORD} variable; none means the server does not ask (trust or peer
 * authentication). {@link #toString()} never shows it.
 */
public final class DatabaseLocation {
  /** The SQLite file's name inside the data folder. */
  public static final String SQLITE_FILE_NAME = "q2q.db";
  private static final int DEFAULT_POSTGRES_PORT = 5432;
  private static final String FORM = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE";

  private final SqlDialect dialect;
  private final Path sqliteFile; // SQLite only
  private final String jdbcUrl;
  private final String user; // PostgreSQL only
  private final String password; // PostgreSQL only; null: none
  private final String shown;

  private DatabaseLocation(SqlDialect dialect, Path sqliteFile, String jdbcUrl, String user, String password,
      String shown) {
    this.dialect = dialect;
    this.sqliteFile = sqliteFile;
    this.jdbcUrl = jdbcUrl;
    this.user = user;
    this.password = password;
    this.shown = shown;
  }

  /** The embedded SQLite database {@code q2q.db} in {@code dataDir}. */
  public static DatabaseLocation sqlite(Path dataDir) {
    Path file = dataDir.resolve(SQLITE_FILE_NAME);
    return new DatabaseLocation(SqlDialect.SQLITE, file, "jdbc:sqlite:" + file, null, null, file.toString());
  }

  /**
   * A PostgreSQL database from {@code url} ({@code postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE},
   * {@code postgres://} too; a query such as {@code ?sslmode=require} is passed to the driver).
   *
   * @param passwordFile a file whose first line is the password, used when the URL has none; or null
   * @param environment the process environment ({@code PGPASSWORD}, used when neither gives one)
   * @throws IllegalArgumentException naming what is wrong with {@code url}
   * @throws IOException if {@code passwordFile} cannot be read
   */
  public static DatabaseLocation postgresql(String url, Path passwordFile, Map<String, String> environment)
      throws IOException {
    Objects.requireNonNull(url, "url");
    URI uri;
    try {
      uri = new URI(url.trim());
    } catch (URISyntaxException e) {
      throw bad(url, e.getReason());
    }
    String scheme = uri.getScheme();
    if (scheme == null || !List.of("postgresql", "postgres").contains(scheme.toLowerCase(java.util.Locale.ROOT))) {
      throw bad(url, "only postgresql:// databases are supported");
    }
    if (uri.getHost() == null) {
      throw bad(url, "no host");
    }
    String rawPath = uri.getRawPath();
    if (rawPath == null || rawPath.length() < 2 || rawPath.indexOf('/', 1) >= 0) {
      throw bad(url, "no database name (…/DATABASE)");
    }
    String rawUserInfo = uri.getRawUserInfo();
    if (rawUserInfo == null || rawUserInfo.isEmpty() || rawUserInfo.startsWith(":")) {
      throw bad(url, "no user (USER@HOST)");
    }
    int colon = rawUserInfo.indexOf(':');
    String user = decode(colon < 0 ? rawUserInfo : rawUserInfo.substring(0, colon));
    String password = colon < 0 ? null : decode(rawUserInfo.substring(colon + 1));
    if (password == null && passwordFile != null) {
      password = readPasswordFile(passwordFile);
    }
    if (password == null) {
      password = environment.get("PGPASSWORD");
    }
    int port = uri.getPort() < 0 ? DEFAULT_POSTGRES_PORT : uri.getPort();
    String hostPort = uri.getHost() + ":" + port; // getHost keeps an IPv6 literal's brackets
    String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
    String jdbc = "jdbc:postgresql://" + hostPort + rawPath + query;
    return new DatabaseLocation(SqlDialect.POSTGRESQL, null, jdbc, user, password,
        "postgresql://" + user + "@" + hostPort + rawPath);
  }

  private static String readPasswordFile(Path file) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IOException("cannot read the database password file " + file + ": " + e.getMessage(), e);
    }
    if (lines.isEmpty() || lines.get(0).isEmpty()) {
      throw new IOException("the database password file " + file + " is empty");
    }
    return lines.get(0);
  }

  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private static IllegalArgumentException bad(String url, String why) {
    // the password may be in the URL: name only its scheme and host part
    String safe = url.replaceAll("//[^@/]*@", "//…@");
    return new IllegalArgumentException("'" + safe + "' is not a database URL " + FORM + ": " + why);
  }

  /** SQLite or PostgreSQL. */
  public SqlDialect dialect() {
    return dialect;
  }

  /** The JDBC URL (no credentials in it). */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  /** The PostgreSQL user; null for SQLite. */
  String user() {
    return user;
  }

  /** The PostgreSQL password; null if none was given. */
  String password() {
    return password;
  }

  /** The SQLite file; null for PostgreSQL. */
  public Path sqliteFile() {
    return sqliteFile;
  }

  /** For messages: the file, or {@code postgresql://USER@HOST:PORT/DATABASE} without the password. */
  @Override
  public String toString() {
    return shown;
  }
}
