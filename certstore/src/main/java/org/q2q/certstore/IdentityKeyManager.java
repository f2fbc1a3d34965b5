package org.q2q.certstore;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents one {@link Identity} in TLS, on either side. Handing TLS this instead of the key and
 * chain spares a key store: Netty builds a PKCS#12 store for a bare key, which protects the key
 * with 10,000 rounds of PBKDF2 per context, and a client makes a context per connection attempt
 * (on a cold JVM that was a few hundred ms of CPU per command). Immutable; safe for concurrent use.
 */
public final class IdentityKeyManager extends X509ExtendedKeyManager {
  private static final String ALIAS = "q2q";
  private final PrivateKey key;
  private final X509Certificate[] chain;

  public IdentityKeyManager(Identity identity) {
    Objects.requireNonNull(identity, "identity");
    this.key = identity.privateKey();
    this.chain = identity.chainArray();
  }

  private String aliasFor(String[] keyTypes) {
    if (keyTypes == null) {
      return ALIAS;
    }
    for (String type : keyTypes) {
      if (matches(type)) {
        return ALIAS;
      }
    }
    return null;
  }

  private boolean matches(String keyType) {
    String alg = key.getAlgorithm();
    return keyType.equalsIgnoreCase(alg)
        || (keyType.equalsIgnoreCase("EC") && alg.equalsIgnoreCase("ECDSA"))
        || (keyType.equalsIgnoreCase("EdDSA") && alg.equalsIgnoreCase("Ed25519"))
        || (keyType.equalsIgnoreCase("Ed25519") && alg.equalsIgnoreCase("EdDSA"))
        // TLS 1.2 names key exchange + key type, e.g. "EC_EC"
        || keyType.toUpperCase(java.util.Locale.ROOT).endsWith("_" + alg.toUpperCase(java.util.Locale.ROOT));
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return matches(keyType) ? new String[] {ALIAS} : null;
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return aliasFor(keyTypes);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    return aliasFor(keyTypes);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return matches(keyType) ? new String[] {ALIAS} : null;
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return keyType == null || matches(keyType) ? ALIAS : null;
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return keyType == null || matches(keyType) ? ALIAS : null;
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return ALIAS.equals(alias) ? chain.clone() : null;
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return ALIAS.equals(alias) ? key : null;
  }
}
