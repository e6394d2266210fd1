package io.vmap.http;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.HttpCredentials;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import io.vmap.http.api.Api;
import io.vmap.state.Principal;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Who is calling the HTTP API: one Akka HTTP directive that any route can be wrapped in.
 *
 * <pre>{@code
 * Authentication auth = Authentication.bearer(tokens, "vmap");
 * Route r = auth.authenticated(principal -> auth.admin(principal, () -> myAdminRoute));
 * }</pre>
 *
 * <p>With authentication on, a request must carry {@code Authorization: Bearer <token>} with a
 * token of the {@link TokenStore}; without one, or with an unknown one, it is answered {@code 401}
 * with {@code {"error":"EACCES","reason":...}} and a {@code WWW-Authenticate: Bearer} challenge,
 * whatever the path (so a caller without a token learns nothing, not even which paths exist). With
 * authentication off every request is {@link Principal#SYSTEM} (the default tenant, admin): the
 * API as it was before tenants.
 */
public final class Authentication extends AllDirectives {

  private final TokenStore tokens;
  private final String realm;

  private Authentication(TokenStore tokens, String realm) {
    this.tokens = tokens;
    this.realm = realm;
  }

  /** No authentication: every request is {@link Principal#SYSTEM}. */
  public static Authentication off() {
    return new Authentication(null, "vmap");
  }

  /** Bearer tokens of {@code tokens}. */
  public static Authentication bearer(TokenStore tokens, String realm) {
    if (tokens == null) throw new IllegalArgumentException("no token store");
    return new Authentication(tokens, realm);
  }

  public boolean enabled() {
    return tokens != null;
  }

  /** The request's principal to {@code inner}, or a 401 answer. */
  public Route authenticated(Function<Principal, Route> inner) {
    if (tokens == null) return extractRequestContext(ctx -> inner.apply(Principal.SYSTEM));
    return extractCredentials(creds -> {
      Optional<String> token = bearerToken(creds);
      if (token.isEmpty()) {
        return complete(unauthorized(creds.isEmpty()
            ? "no credentials: send the header Authorization: Bearer <token>"
            : "the Authorization header must be a Bearer token", false));
      }
      Optional<Principal> p = tokens.principalFor(token.get());
      if (p.isEmpty()) return complete(unauthorized("unknown or revoked bearer token", true));
      return inner.apply(p.get());
    });
  }

  /** {@code inner} if {@code p} has the admin role, else {@code 403 {"error":"EPERM",...}}. */
  public Route admin(Principal p, Supplier<Route> inner) {
    if (p.admin()) return inner.get();
    return extractRequest(req -> complete(forbidden(req.method().value() + " " + req.getUri().path()
        + " needs the admin role; tenant " + p.tenant() + " does not have it")));
  }

  private static Optional<String> bearerToken(Optional<HttpCredentials> creds) {
    if (creds.isEmpty() || !"bearer".equalsIgnoreCase(creds.get().scheme())) return Optional.empty();
    String t = creds.get().token();
    return t == null || t.isBlank() ? Optional.empty() : Optional.of(t.strip());
  }

  private HttpResponse unauthorized(String reason, boolean invalidToken) {
    String challenge = "Bearer realm=\"" + realm + "\"" + (invalidToken ? ", error=\"invalid_token\"" : "");
    return HttpResponse.create()
        .withStatus(StatusCodes.UNAUTHORIZED)
        .addHeader(RawHeader.create("WWW-Authenticate", challenge))
        .withEntity(ContentTypes.APPLICATION_JSON, Api.write(new Api.Error("EACCES", reason)));
  }

  static HttpResponse forbidden(String reason) {
    return HttpResponse.create()
        .withStatus(StatusCodes.FORBIDDEN)
        .withEntity(ContentTypes.APPLICATION_JSON, Api.write(new Api.Error("EPERM", reason)));
  }
}
