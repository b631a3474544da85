package org.m365trace.sinks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.UUID;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.m365trace.Durations;
import org.m365trace.Secret;
import org.m365trace.SettingException;
import org.m365trace.source.TraceAuth;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * How the HTTP sink speaks to its endpoint ({@code trace.http.preset}): the request of a batch (URL, body, headers) and
 * what a reply means for it ({@link HttpReply}). The route {@code sink-http-deliver} sends and acts; this bean holds
 * no state of a batch, only the settings, Azure Monitor's token and Splunk's channel.
 * <ul>
 * <li>{@code generic}: the batch as a JSON array or NDJSON ({@code trace.http.format}) to {@code trace.http.url}.</li>
 * <li>{@code elastic-bulk}: Elasticsearch's {@code _bulk} with stable ids ({@link ElasticBulk}).</li>
 * <li>{@code splunk-hec}: Splunk's HTTP Event Collector, with indexer acknowledgement ({@link SplunkHec}).</li>
 * <li>{@code azure-monitor}: Azure Monitor's Logs Ingestion API (Microsoft Sentinel): a JSON array of at most 1 MB to
 * {@code <endpoint>/dataCollectionRules/<dcrId>/streams/<stream>}, with a token for {@code https://monitor.azure.com}.</li>
 * </ul>
 * Every preset: a 2xx delivers; 413 splits the batch; 408, 425, 429 and 5xx keep it for another try (honouring
 * Retry-After); another 4xx sends it to the dead letters with the endpoint's words, so the records after it are not held
 * up. Azure Monitor's 401 and 403 keep the batch instead (a token or a role assignment that is not there yet).
 */
public class HttpPreset implements CamelContextAware {

    public static final String GENERIC = "generic";
    public static final String ELASTIC_BULK = "elastic-bulk";
    public static final String SPLUNK_HEC = "splunk-hec";
    public static final String AZURE_MONITOR = "azure-monitor";
    /** The Logs Ingestion API takes at most 1 MB a call. */
    static final int AZURE_MAX_BODY = 1024 * 1024;
    static final String AZURE_SCOPE = "https://monitor.azure.com/.default";

    static final ObjectMapper MAPPER = new ObjectMapper();

    private String preset = GENERIC;
    private boolean enabled;
    private String url = "";
    private String format = "json-array";
    private String authorization = "";
    private String elasticIndex = "m365-message-trace";
    private String splunkToken = "";
    private String splunkSource = "m365-trace-forwarder";
    private String splunkSourcetype = "m365:messagetrace";
    private String splunkIndex = "";
    private boolean splunkAck;
    private Duration splunkAckTimeout = Duration.ofMinutes(2);
    private String splunkAckTimeoutText = "2m";
    private String azureEndpoint = "";
    private String azureDcrId = "";
    private String azureStream = "";
    private String azureTenantId = "";
    private String azureClientId = "";
    private String azureClientSecret = "";
    private String azureTokenUrl = "";
    private String tenantId = "";
    private String clientId = "";
    private String clientSecret = "";
    private String tokenUrl = "";
    /** The files of the secrets ({@code <key>File}), by the secret's setting. */
    private final Map<String, String> secretFiles = new HashMap<>();
    private final Map<String, Secret> secrets = new HashMap<>();
    private String connectTimeout = "10s";
    private String readTimeout = "60s";
    private String host = Rfc5424.localHostname();
    private Clock clock = Clock.systemUTC();

    /** Splunk's request channel of this process: acks are asked for on the channel the events were sent on. */
    private final String channel = UUID.randomUUID().toString();
    private TraceAuth azureAuth;
    private CamelContext camelContext;

    /** Checks the preset's settings when the HTTP sink is enabled: a missing one stops the start with one line. */
    public void validate() {
        if (!enabled) {
            return;
        }
        switch (preset) {
            case GENERIC -> secret("trace.http.authorization", authorization).check("the value of the Authorization header");
            case ELASTIC_BULK -> SettingException.require("trace.elastic.index", elasticIndex, "the index or data stream to write to");
            case SPLUNK_HEC -> require(secret("trace.splunk.token", splunkToken), "the HEC token (a GUID) of the Splunk HTTP Event Collector");
            case AZURE_MONITOR -> {
                SettingException.require("trace.azure.endpoint", azureEndpoint, "the logs ingestion URL of the data collection endpoint"
                        + " (https://<name>.<region>.ingest.monitor.azure.com)");
                SettingException.require("trace.azure.dcrId", azureDcrId, "the immutable id of the data collection rule (dcr-...)");
                SettingException.require("trace.azure.stream", azureStream, "the stream of the data collection rule (Custom-...)");
                SettingException.require("trace.azure.clientId", pick(azureClientId, clientId), "the Entra ID app's client id (or trace.clientId)");
                require(azureClientSecret(), "the Entra ID app's secret (or trace.clientSecret)");
                if (azureTokenUrl.isBlank() && pick(azureTenantId, tenantId).isBlank() && tokenUrl.isBlank()) {
                    throw new SettingException("trace.azure.tenantId", "the Entra ID tenant of the app (or trace.tenantId, or trace.azure.tokenUrl)", "");
                }
            }
            default -> throw new SettingException("trace.http.preset", "generic, elastic-bulk, splunk-hec or azure-monitor", preset);
        }
    }

    /** Where a batch is POSTed. */
    public String url() {
        if (AZURE_MONITOR.equals(preset)) {
            return strip(azureEndpoint) + "/dataCollectionRules/" + azureDcrId.strip() + "/streams/" + azureStream.strip()
                    + "?api-version=2023-01-01";
        }
        return url;
    }

    /** The Content-Type of a batch's body. */
    public String contentType() {
        return switch (preset) {
            case ELASTIC_BULK -> "application/x-ndjson; charset=UTF-8";
            case GENERIC -> "ndjson".equals(format) ? "application/x-ndjson; charset=UTF-8" : "application/json; charset=UTF-8";
            default -> "application/json; charset=UTF-8";
        };
    }

    /** The Authorization header: Splunk's token, Azure Monitor's bearer token, else {@code trace.http.authorization} (empty: none). */
    public String authorization() throws IOException, InterruptedException {
        return switch (preset) {
            case SPLUNK_HEC -> "Splunk " + secret("trace.splunk.token", splunkToken).value().strip();
            case AZURE_MONITOR -> azureAuth().header();
            default -> secret("trace.http.authorization", authorization).value();
        };
    }

    /** Splunk's {@code X-Splunk-Request-Channel} with indexer acknowledgement; empty otherwise. */
    public String channel() {
        return SPLUNK_HEC.equals(preset) && splunkAck ? channel : "";
    }

    /**
     * The body of a batch (its lines as the spool keeps them: one record a line, in the sink's schema, UTF-8). Batches
     * stay bytes from the spool file to the request: as strings, each step that took one as an argument copied it.
     */
    public byte[] body(byte[] batch) {
        return switch (preset) {
            case ELASTIC_BULK -> utf8(ElasticBulk.body(text(batch), elasticIndex.strip()));
            case SPLUNK_HEC -> utf8(SplunkHec.body(text(batch), host, splunkSource, splunkSourcetype, splunkIndex.strip()));
            case AZURE_MONITOR -> Spool.asJsonArray(batch);
            default -> "ndjson".equals(format) ? batch : Spool.asJsonArray(batch);
        };
    }

    /**
     * Before sending: null when the batch may be sent, else what it is instead: too large (Azure Monitor's 1 MB; split
     * it), or refused (one record alone is too large).
     */
    public HttpReply oversized(byte[] batch) {
        if (!AZURE_MONITOR.equals(preset) || arrayBytes(batch) <= AZURE_MAX_BODY) {
            return null;
        }
        return tooLarge(batch, "one record is larger than Azure Monitor's 1 MB a request");
    }

    /** What a reply means for the batch that was sent. */
    public HttpReply reply(int status, String statusText, String body, byte[] batch) {
        String replied = body == null ? "" : body;
        if (status / 100 == 2) {
            return switch (preset) {
                case ELASTIC_BULK -> ElasticBulk.reply(replied, batch);
                case SPLUNK_HEC -> {
                    long ackId = splunkAck ? SplunkHec.ackId(replied) : -1;
                    yield ackId < 0 ? HttpReply.ofDelivered(batch) : HttpReply.ofDelivered(batch).awaitingAck(ackId, clock.instant());
                }
                default -> HttpReply.ofDelivered(batch);
            };
        }
        if (status == 413) {
            return tooLarge(batch, "HTTP 413 from " + target() + ": one record is larger than the endpoint takes: " + replied);
        }
        if (AZURE_MONITOR.equals(preset) && (status == 401 || status == 403)) {
            if (status == 401) {
                azureAuth().invalidate();
            }
            return HttpReply.ofFailed();          // a role assignment takes minutes to apply: the records wait
        }
        if (status >= 400 && status < 500 && status != 408 && status != 425 && status != 429) {
            String words = SPLUNK_HEC.equals(preset) ? SplunkHec.error(replied) : replied;
            return HttpReply.ofRefused(batch, "the http sink refused a batch for good: HTTP " + status + " " + statusText
                    + " from " + target() + ": " + words);
        }
        return HttpReply.ofFailed();
    }

    /** A batch too large for one request: split (by size for Azure Monitor, else in halves), or refused when it is one record. */
    private static HttpReply tooLarge(byte[] batch, String reason) {
        return Utf8Lines.count(batch) > 1 ? HttpReply.ofTooLarge() : HttpReply.ofRefused(batch, reason);
    }

    /** The parts a too large batch is split into: each fits Azure Monitor's 1 MB; else two halves. */
    public List<String> parts(byte[] batch) {
        List<String> lines = ElasticBulk.lines(text(batch));
        List<String> parts = new ArrayList<>();
        if (!AZURE_MONITOR.equals(preset)) {
            int half = lines.size() / 2;
            parts.add(join(lines.subList(0, half)));
            parts.add(join(lines.subList(half, lines.size())));
            return parts;
        }
        StringBuilder part = new StringBuilder();
        long size = 2;                                  // [ ]
        for (String line : lines) {
            long add = bytes(line) + 1;                 // the line and its comma
            if (part.length() > 0 && size + add > AZURE_MAX_BODY) {
                parts.add(part.toString());
                part.setLength(0);
                size = 2;
            }
            part.append(line).append('\n');
            size += add;
        }
        parts.add(part.toString());
        return parts;
    }

    /** The dead letter's file name of refused lines: the batch's own when it is the whole batch, else one per set of lines. */
    public String deadLetterName(String batchName, HttpReply reply) {
        if (!reply.isAnyDelivered() && !reply.isAnyRetry()) {
            return batchName;
        }
        return batchName.replaceFirst("\\.ndjson$", "") + "-refused-" + DocumentId.digest(text(reply.getDeadLetters())).substring(0, 12) + ".ndjson";
    }

    // ---------------------------------------------------------------- Splunk's indexer acknowledgement

    /** The ack endpoint beside {@code trace.http.url}. */
    public String ackUrl() {
        return SplunkHec.ackUrl(url);
    }

    /** The body asking for a reply's ackId. */
    public String ackQuery(HttpReply reply) {
        return "{\"acks\":[" + reply.getAckId() + "]}";
    }

    /** Reads an ack reply: a 200 reporting the ackId true acknowledges the batch. */
    public void acked(HttpReply reply, int status, String body) {
        if (status == 200 && SplunkHec.acked(body, reply.getAckId())) {
            reply.acknowledge();
        }
    }

    /** Whether to ask again; fails the batch (it is sent again) when no ack came within {@code trace.splunk.ackTimeout}. */
    public boolean awaitingAck(HttpReply reply) throws IOException {
        if (reply.getAckId() == null || reply.isAcked()) {
            return false;
        }
        if (Duration.between(reply.sentAt(), clock.instant()).compareTo(splunkAckTimeout) > 0) {
            throw new IOException("Splunk did not acknowledge ackId " + reply.getAckId() + " within trace.splunk.ackTimeout ("
                    + splunkAckTimeoutText + "): the batch is sent again");
        }
        return true;
    }

    // ---------------------------------------------------------------- helpers

    private synchronized TraceAuth azureAuth() {
        if (azureAuth == null) {
            TraceAuth auth = new TraceAuth();
            auth.setAuth("oauth2");
            auth.setTenantId(pick(azureTenantId, tenantId));
            auth.setClientId(pick(azureClientId, clientId));
            Secret secret = azureClientSecret();
            if (secret.fromFile()) {
                auth.setClientSecretFile(secret.file());
            } else {
                auth.setClientSecret(secret.value());
            }
            auth.setTokenUrl(!azureTokenUrl.isBlank() ? azureTokenUrl
                    : !azureTenantId.isBlank() ? TraceAuth.defaultTokenUrl(azureTenantId) : tokenUrl);
            auth.setScope(AZURE_SCOPE);
            auth.setConnectTimeout(connectTimeout);
            auth.setReadTimeout(readTimeout);
            azureAuth = auth;
        }
        return azureAuth;
    }

    /**
     * A secret of the HTTP sink: the file of {@code <property>File}, read again when it changes, else its value. In a
     * Camel context the value is read here, as given (Camel's property binding would parse it for placeholders); the
     * value set is for use without one.
     */
    private synchronized Secret secret(String property, String value) {
        return secrets.computeIfAbsent(property, p -> Secret.of(p, camelContext == null ? value : Secret.given(camelContext, p),
                secretFiles.get(p)));
    }

    /** Azure Monitor's client secret: trace.azure.clientSecret(File), else the source's trace.clientSecret(File). */
    private Secret azureClientSecret() {
        Secret own = secret("trace.azure.clientSecret", azureClientSecret);
        return own.isSet() ? own : secret("trace.clientSecret", clientSecret);
    }

    private static void require(Secret secret, String expected) {
        if (!secret.isSet()) {
            String property = secret.setting();
            throw new SettingException(property + ": expected " + expected + ", or " + property + "File naming a file that holds it;"
                    + " got nothing");
        }
        secret.check(expected);
    }

    /** The endpoint, as the setting that names it. */
    private String target() {
        return AZURE_MONITOR.equals(preset) ? "trace.azure.endpoint" : "trace.http.url";
    }

    /** The size of the batch as a JSON array: its lines, a comma between two, and the brackets. */
    private static long arrayBytes(byte[] batch) {
        long[] size = {1};
        Utf8Lines.forEach(batch, (start, end, next) -> size[0] += end - start + 1);
        return size[0];
    }

    private static String text(byte[] utf8) {
        return new String(utf8, StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static long bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static String join(List<String> lines) {
        return lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
    }

    private static String pick(String own, String source) {
        return own == null || own.isBlank() ? (source == null ? "" : source.strip()) : own.strip();
    }

    private static String strip(String u) {
        String s = u.strip();
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    private static String text(String v) {
        return v == null ? "" : v;
    }

    public void setPreset(String preset) {
        this.preset = preset == null || preset.isBlank() ? GENERIC : preset.strip().toLowerCase(Locale.ROOT);
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public void setUrl(String url) {
        this.url = text(url).strip();
    }

    public void setFormat(String format) {
        this.format = text(format).strip();
    }

    public void setAuthorization(String authorization) {
        this.authorization = text(authorization);
    }

    public void setElasticIndex(String elasticIndex) {
        this.elasticIndex = text(elasticIndex);
    }

    public void setSplunkToken(String splunkToken) {
        this.splunkToken = text(splunkToken);
    }

    public void setSplunkSource(String splunkSource) {
        this.splunkSource = text(splunkSource).isBlank() ? "m365-trace-forwarder" : splunkSource.strip();
    }

    public void setSplunkSourcetype(String splunkSourcetype) {
        this.splunkSourcetype = text(splunkSourcetype).isBlank() ? "m365:messagetrace" : splunkSourcetype.strip();
    }

    public void setSplunkIndex(String splunkIndex) {
        this.splunkIndex = text(splunkIndex);
    }

    public void setSplunkAck(String splunkAck) {
        String v = text(splunkAck).strip();
        if (!v.isEmpty() && !"true".equalsIgnoreCase(v) && !"false".equalsIgnoreCase(v)) {
            throw new SettingException("trace.splunk.ack", "true or false", v);
        }
        this.splunkAck = "true".equalsIgnoreCase(v);
    }

    public void setSplunkAckTimeout(String splunkAckTimeout) {
        this.splunkAckTimeout = Durations.parse("trace.splunk.ackTimeout", splunkAckTimeout);
        this.splunkAckTimeoutText = splunkAckTimeout.strip();
    }

    public void setAzureEndpoint(String azureEndpoint) {
        this.azureEndpoint = text(azureEndpoint);
    }

    public void setAzureDcrId(String azureDcrId) {
        this.azureDcrId = text(azureDcrId);
    }

    public void setAzureStream(String azureStream) {
        this.azureStream = text(azureStream);
    }

    public void setAzureTenantId(String azureTenantId) {
        this.azureTenantId = text(azureTenantId).strip();
    }

    public void setAzureClientId(String azureClientId) {
        this.azureClientId = text(azureClientId);
    }

    public void setAzureClientSecret(String azureClientSecret) {
        this.azureClientSecret = text(azureClientSecret);
    }

    public void setAzureTokenUrl(String azureTokenUrl) {
        this.azureTokenUrl = text(azureTokenUrl).strip();
    }

    /** The source's {@code trace.tenantId}, {@code trace.clientId}, ...: Azure Monitor's sign-in defaults to them. */
    public void setTenantId(String tenantId) {
        this.tenantId = text(tenantId);
    }

    public void setClientId(String clientId) {
        this.clientId = text(clientId);
    }

    public void setClientSecret(String clientSecret) {
        this.clientSecret = text(clientSecret);
    }

    public void setTokenUrl(String tokenUrl) {
        this.tokenUrl = text(tokenUrl).strip();
    }

    public void setAuthorizationFile(String file) {
        secretFile("trace.http.authorization", file);
    }

    public void setSplunkTokenFile(String file) {
        secretFile("trace.splunk.token", file);
    }

    public void setAzureClientSecretFile(String file) {
        secretFile("trace.azure.clientSecret", file);
    }

    public void setClientSecretFile(String file) {
        secretFile("trace.clientSecret", file);
    }

    private synchronized void secretFile(String property, String file) {
        secretFiles.put(property, text(file).strip());
        secrets.remove(property);
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    public void setConnectTimeout(String connectTimeout) {
        this.connectTimeout = connectTimeout;
    }

    public void setReadTimeout(String readTimeout) {
        this.readTimeout = readTimeout;
    }

    /** HEC's {@code host} field; default: this host's name. */
    public void setHost(String host) {
        this.host = host;
    }

    public void setClock(Clock clock) {
        this.clock = clock;
    }

    @Override
    public String toString() {
        return "HttpPreset[" + preset + "]";        // never the secrets
    }
}
