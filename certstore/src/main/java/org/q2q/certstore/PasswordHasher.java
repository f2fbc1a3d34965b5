package org.q2q.certstore;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import org.q2q.certstore.internal.Bc;

/**
 * Password hashing with Argon2id (RFC 9106), salted, compared in constant time. Hashes are stored
 * in the PHC string form {@code $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>}, so parameters can be
 * raised later without breaking stored hashes. Safe for concurrent use.
 */
public final class PasswordHasher {
  /** OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane. */
  public static final PasswordHasher DEFAULT = new PasswordHasher(19 * 1024, 2, 1);

  private static final int SALT_BYTES = 16;
  /** Bounds on parameters read from a stored hash (1 GiB, 100 passes, 64 lanes). */
  private static final int MAX_MEMORY_KIB = 1 << 20;
  private static final int MAX_ITERATIONS = 100;
  private static final int MAX_PARALLELISM = 64;
  private static final int HASH_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final int memoryKib;
  private final int iterations;
  private final int parallelism;

  /** A hasher with explicit cost parameters (memory in KiB). */
  public PasswordHasher(int memoryKib, int iterations, int parallelism) {
    if (memoryKib < 8 * parallelism || iterations < 1 || parallelism < 1) {
      throw new IllegalArgumentException("bad Argon2 parameters m=" + memoryKib + " t=" + iterations + " p=" + parallelism);
    }
    this.memoryKib = memoryKib;
    this.iterations = iterations;
    this.parallelism = parallelism;
  }

  /** Hashes {@code password} with a fresh salt. */
  public String hash(String password) {
    byte[] salt = new byte[SALT_BYTES];
    RANDOM.nextBytes(salt);
    byte[] h = derive(password, salt, memoryKib, iterations, parallelism, HASH_BYTES);
    Base64.Encoder b64 = Base64.getEncoder().withoutPadding();
    return "$argon2id$v=19$m=" + memoryKib + ",t=" + iterations + ",p=" + parallelism + "$"
        + b64.encodeToString(salt) + "$" + b64.encodeToString(h);
  }

  /** True if {@code password} matches {@code encoded}; false for a malformed hash. */
  public boolean verify(String password, String encoded) {
    if (encoded == null) {
      return false;
    }
    String[] parts = encoded.split("\\$");
    if (parts.length != 6 || !parts[1].equals("argon2id") || !parts[2].equals("v=19")) {
      return false;
    }
    try {
      int m = 0;
      int t = 0;
      int p = 0;
      for (String kv : parts[3].split(",")) {
        int v = Integer.parseInt(kv.substring(2));
        switch (kv.charAt(0)) {
          case 'm' -> m = v;
          case 't' -> t = v;
          case 'p' -> p = v;
          default -> {
            return false;
          }
        }
      }
      if (m < 8 * p || m > MAX_MEMORY_KIB || t < 1 || t > MAX_ITERATIONS || p < 1 || p > MAX_PARALLELISM) {
        return false; // not a hash we would make; refuse rather than allocate without bound
      }
      Base64.Decoder d = Base64.getDecoder();
      byte[] salt = d.decode(parts[4]);
      byte[] expected = d.decode(parts[5]);
      if (salt.length < 8 || expected.length < 16 || expected.length > 64) {
        return false;
      }
      byte[] actual = derive(password, salt, m, t, p, expected.length);
      return MessageDigest.isEqual(expected, actual);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static byte[] derive(String password, byte[] salt, int m, int t, int p, int len) {
    return Bc.argon2id(password.getBytes(StandardCharsets.UTF_8), salt, m, t, p, len);
  }
}
