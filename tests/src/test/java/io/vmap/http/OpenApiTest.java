package io.vmap.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.AnnotationKeyword;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.vmap.client.VmapSettings;
import io.vmap.state.ErrorCode;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GET /v1/openapi.json against the real routes, so the description cannot drift:
 *
 * <ul>
 *   <li>every route exists as described: for each described path, a PATCH answers 405 and its
 *       {@code Allow} header lists exactly the described methods;
 *   <li>every route is described: every path built from the literal segments of the route code
 *       (io.vmap.http's sources) that the member does not answer "no such endpoint" is a described
 *       path with exactly its methods;
 *   <li>every example (parameters, bodies, answers, schemas) validates against its schema, every
 *       error code has its status and response, and the example requests, run in order against a
 *       fresh member of the default geometry, succeed with a described status and an answer that
 *       validates against the described schema.
 * </ul>
 */
class OpenApiTest {

  static LiveMember m;
  static JsonNode doc;
  static JsonSchemaFactory schemas;

  @BeforeAll
  static void start() throws Exception {
    m = new LiveMember("openapi", VmapSettings.defaults());
    LiveMember.Resp r = m.send("GET", "/v1/openapi.json", null);
    assertEquals(200, r.status(), r.body());
    assertTrue(r.header("Content-Type").startsWith("application/json"), r.header("Content-Type"));
    doc = r.json();
    JsonMetaSchema meta = JsonMetaSchema.builder(JsonMetaSchema.getV202012())
        .keyword(new AnnotationKeyword("example")).build();
    schemas = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012, b -> b.metaSchema(meta));
  }

  @AfterAll
  static void stop() throws Exception {
    if (m != null) m.close();
  }

  // ------------------------------------------------------------------ routes

  @Test
  void everyDescribedRouteExistsWithExactlyItsMethods() throws Exception {
    for (Map.Entry<String, Set<String>> e : described().entrySet()) {
      String path = concrete(e.getKey());
      assertEquals(e.getValue(), allowed(path), "methods of " + e.getKey() + " (probed as " + path + ")");
    }
  }

  @Test
  void everyRouteIsDescribed() throws Exception {
    Set<String> segments = routeSegments();
    assertTrue(segments.containsAll(List.of("v1", "areas", "info", "purge", "health", "metrics", "ui", "space", "nodes")),
        "segments found in the route code: " + segments);
    List<String> words = new ArrayList<>(segments);
    words.add("0xffffc90000000000"); // stands for a path parameter
    List<String> candidates = new ArrayList<>();
    for (String a : words) {
      candidates.add("/" + a);
      for (String b : words) {
        candidates.add("/" + a + "/" + b);
        for (String c : words) candidates.add("/" + a + "/" + b + "/" + c);
      }
    }
    Map<String, Set<String>> described = described();
    Map<String, Set<String>> found = new TreeMap<>();
    for (int i = 0; i < candidates.size(); i += 64) {
      List<String> batch = candidates.subList(i, Math.min(candidates.size(), i + 64));
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
      for (String p : batch) answers.add(LiveMember.HTTP.sendAsync(patch(p), HttpResponse.BodyHandlers.ofString()));
      for (int j = 0; j < batch.size(); j++) {
        HttpResponse<String> r = answers.get(j).get();
        if (r.statusCode() == 404 && r.body().contains("no such endpoint")) continue;
        found.put(batch.get(j), methods(r));
      }
    }
    assertFalse(found.isEmpty());
    for (Map.Entry<String, Set<String>> f : found.entrySet()) {
      String template = described.keySet().stream().filter(t -> matches(t, f.getKey())).findFirst()
          .orElseThrow(() -> new AssertionError("route " + f.getKey() + " (" + f.getValue() + ") is not in /v1/openapi.json"));
      assertEquals(described.get(template), f.getValue(), "methods of " + f.getKey() + " described as " + template);
    }
    for (String template : described.keySet()) {
      assertTrue(found.keySet().stream().anyMatch(p -> matches(template, p)) || template.contains("{asset}") && found.keySet()
          .stream().anyMatch(p -> p.startsWith("/ui/")), "described " + template + " was not found by probing");
    }
  }

  // ------------------------------------------------------------------ examples and schemas

  @Test
  void everyExampleValidatesAgainstItsSchema() {
    int checked = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = doc.get("components").get("schemas").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> s = it.next();
      if (s.getValue().has("example")) {
        valid(ref("#/components/schemas/" + s.getKey()), s.getValue().get("example"), "example of schema " + s.getKey());
        checked++;
      }
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = doc.get("components").get("responses").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> r = it.next();
      for (JsonNode media : r.getValue().get("content")) {
        valid(media.get("schema"), media.get("example"), "example of response " + r.getKey());
        checked++;
      }
    }
    for (Operation op : operations()) {
      for (JsonNode p : op.parameters()) {
        assertNotNull(p.get("example"), op + ": parameter " + p.get("name") + " has no example");
        valid(p.get("schema"), p.get("example"), op + " parameter " + p.get("name").asText());
        checked++;
      }
      JsonNode body = op.node().path("requestBody").path("content").path("application/json");
      if (!body.isMissingNode()) {
        valid(body.get("schema"), body.get("example"), op + " request body");
        checked++;
      }
      for (Iterator<Map.Entry<String, JsonNode>> rs = op.node().get("responses").fields(); rs.hasNext(); ) {
        JsonNode resp = resolve(rs.next().getValue());
        for (JsonNode media : resp.path("content")) {
          if (media.has("example")) {
            valid(media.get("schema"), media.get("example"), op + " response example");
            checked++;
          }
        }
      }
    }
    assertTrue(checked > 40, "examples checked: " + checked);
  }

  @Test
  void theSchemasRejectWhatTheServerNeverSends() {
    ObjectNode area = LiveMember.JSON.createObjectNode().put("start", "0xffffc90000000000").put("end", "0xffffc90000010000")
        .put("size", 65536).put("node", 0).put("tag", "buf");
    valid(ref("#/components/schemas/Area"), area, "an area");
    assertFalse(errors(ref("#/components/schemas/Area"), area.deepCopy().put("start", 42)).isEmpty(), "a numeric address");
    assertFalse(errors(ref("#/components/schemas/Area"), area.deepCopy().put("colour", "red")).isEmpty(), "an unknown field");
    assertFalse(errors(ref("#/components/schemas/Area"), area.deepCopy().without("end")).isEmpty(), "a missing field");
  }

  @Test
  void everyErrorCodeHasItsStatusAndAResponseThatShowsIt() {
    JsonNode codes = doc.get("components").get("schemas").get("Error").get("properties").get("error").get("enum");
    Set<String> inSchema = new TreeSet<>();
    codes.forEach(c -> inSchema.add(c.asText()));
    for (ErrorCode c : ErrorCode.values()) {
      assertTrue(inSchema.contains(c.name()), c + " in the Error schema");
      String status = Integer.toString(VmapRoutes.statusOf(c).intValue());
      boolean shown = false;
      for (Operation op : operations()) {
        JsonNode r = op.node().get("responses").get(status);
        if (r != null && c.name().equals(resolve(r).path("content").path("application/json").path("example").path("error").asText())) {
          shown = true;
        }
      }
      assertTrue(shown, c + " (" + status + ") is the example of some operation's " + status + " response");
      assertTrue(doc.get("info").get("description").asText().contains(c.name() + " " + status), c + " in the summary");
    }
  }

  @Test
  void theExampleRequestsSucceedAgainstALiveMember() throws Exception {
    List<Operation> ops = new ArrayList<>(operations());
    // Allocate first, then read, then free: the examples' addresses are those a fresh member gives.
    ops.sort(java.util.Comparator.comparingInt(o -> switch (o.method()) {
      case "post" -> o.path().equals("/v1/areas") ? 0 : 3;
      case "get" -> 1;
      case "delete" -> 2;
      default -> 4;
    }));
    for (Operation op : ops) {
      String path = op.path();
      StringBuilder query = new StringBuilder();
      List<String> headers = new ArrayList<>();
      for (JsonNode p : op.parameters()) {
        String name = p.get("name").asText();
        String value = p.get("example").asText();
        switch (p.get("in").asText()) {
          case "path" -> path = path.replace("{" + name + "}", value);
          case "query" -> query.append(query.length() == 0 ? "?" : "&").append(name).append('=')
              .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
          case "header" -> {
            headers.add(name);
            headers.add(value);
          }
          default -> fail(op + ": parameter in " + p.get("in"));
        }
      }
      JsonNode body = op.node().path("requestBody").path("content").path("application/json").path("example");
      LiveMember.Resp r = m.send(op.method().toUpperCase(Locale.ROOT), path + query,
          body.isMissingNode() ? null : body.toString(), headers.toArray(String[]::new));
      String status = Integer.toString(r.status());
      assertTrue(r.status() / 100 == 2, op + " example: " + r.status() + " " + r.body());
      JsonNode described = op.node().get("responses").get(status);
      assertNotNull(described, op + " answered " + status + ", which is not described");
      JsonNode schema = resolve(described).path("content").path("application/json").path("schema");
      String type = r.header("Content-Type");
      if (!schema.isMissingNode() && type != null && type.startsWith("application/json")) {
        valid(schema, r.json(), op + " answer");
      }
    }
  }

  // ------------------------------------------------------------------ the description

  record Operation(String path, String method, JsonNode node) {
    List<JsonNode> parameters() {
      List<JsonNode> out = new ArrayList<>();
      node.path("parameters").forEach(out::add);
      return out;
    }

    @Override
    public String toString() {
      return method.toUpperCase(Locale.ROOT) + " " + path;
    }
  }

  static List<Operation> operations() {
    List<Operation> out = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = doc.get("paths").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> p = it.next();
      for (Iterator<Map.Entry<String, JsonNode>> ms = p.getValue().fields(); ms.hasNext(); ) {
        Map.Entry<String, JsonNode> op = ms.next();
        out.add(new Operation(p.getKey(), op.getKey(), op.getValue()));
      }
    }
    return out;
  }

  /** Path template to its methods, upper case. */
  static Map<String, Set<String>> described() {
    Map<String, Set<String>> out = new TreeMap<>();
    for (Operation op : operations()) out.computeIfAbsent(op.path(), k -> new TreeSet<>()).add(op.method().toUpperCase(Locale.ROOT));
    return out;
  }

  /** The template with its path parameters' examples. */
  static String concrete(String template) {
    String path = template;
    for (Operation op : operations()) {
      if (!op.path().equals(template)) continue;
      for (JsonNode p : op.parameters()) {
        if (p.get("in").asText().equals("path")) path = path.replace("{" + p.get("name").asText() + "}", p.get("example").asText());
      }
    }
    return path;
  }

  static boolean matches(String template, String path) {
    String regex = Pattern.quote(template).replaceAll("\\{[^}/]+\\}", "\\\\E[^/]+\\\\Q");
    return path.matches(regex);
  }

  static JsonNode resolve(JsonNode n) {
    JsonNode r = n.get("$ref");
    if (r == null) return n;
    return doc.at(r.asText().substring(1));
  }

  static JsonNode ref(String pointer) {
    return LiveMember.JSON.createObjectNode().put("$ref", pointer);
  }

  void valid(JsonNode schema, JsonNode instance, String what) {
    assertNotNull(schema, what + ": no schema");
    assertNotNull(instance, what + ": no example");
    Set<ValidationMessage> errors = errors(schema, instance);
    assertTrue(errors.isEmpty(), what + " does not validate: " + errors + "\n" + instance);
  }

  /** What is wrong with {@code instance} by {@code schema} (which may refer to the components). */
  static Set<ValidationMessage> errors(JsonNode schema, JsonNode instance) {
    ObjectNode root = schema.deepCopy();
    root.put("$schema", "https://json-schema.org/draft/2020-12/schema");
    root.set("components", doc.get("components"));
    JsonSchema s = schemas.getSchema(root);
    return s.validate(instance);
  }

  // ------------------------------------------------------------------ probing the routes

  static HttpRequest patch(String path) {
    return HttpRequest.newBuilder(URI.create(m.base + path)).timeout(Duration.ofSeconds(60))
        .method("PATCH", HttpRequest.BodyPublishers.noBody()).build();
  }

  /** The methods {@code path} takes: a PATCH must be refused with 405 and an Allow header. */
  static Set<String> allowed(String path) throws Exception {
    HttpResponse<String> r = LiveMember.HTTP.send(patch(path), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, r.statusCode(), "PATCH " + path + ": " + r.body());
    return methods(r);
  }

  static Set<String> methods(HttpResponse<String> r) {
    if (r.statusCode() != 405) return Set.of("PATCH (answered " + r.statusCode() + ")");
    Set<String> out = new TreeSet<>();
    for (String h : r.headers().allValues("Allow")) {
      for (String part : h.split(",")) if (!part.isBlank() && !part.trim().equals("HEAD")) out.add(part.trim());
    }
    return out;
  }

  /** The literal path segments of the route code: path("x"), pathPrefix("x"), segment("x"), slash("x"). */
  static Set<String> routeSegments() throws Exception {
    Path here = Path.of("").toAbsolutePath();
    Path repo = Files.isDirectory(here.resolve("node-runner")) ? here : here.getParent();
    Path http = repo.resolve("node-runner/src/main/java/io/vmap/http");
    Pattern literal = Pattern.compile("\\b(?:path|pathPrefix|segment|slash|pathSuffix)\\(\\s*\"([^\"]+)\"");
    Set<String> out = new LinkedHashSet<>();
    try (Stream<Path> files = Files.walk(http)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        Matcher mt = literal.matcher(Files.readString(f));
        while (mt.find()) out.add(mt.group(1));
      }
    }
    return out;
  }
}
