package org.m365trace;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import java.util.stream.Collectors;

import org.m365trace.source.ClientCertificate;
import org.m365trace.source.PageSlots;
import org.m365trace.source.TraceAuth;
import org.m365trace.source.TraceCloud;
import org.m365trace.source.TraceRecords;

/**
 * Checks the settings once at startup (its {@code validate} is the bean's init method), so that a wrong or missing
 * setting stops the product with one line naming the property and what it expects. Also answers the status
 * filter ({@code trace.filter.statuses}).
 */
public class TraceSettings {

    private String api;
    private String auth;
    private String username;
    private String password;
    private String tenantId;
    private String clientId;
    private String clientSecret;
    private String clientSecretFile;
    private String passwordFile;
    private String clientCertificate;
    private String clientCertificatePassword;
    private String clientCertificatePasswordFile;
    private String cloud;
    private String managedIdentityEndpoint;
    private String tokenUrl;
    private String pollInterval;
    private String pageSize;
    private String filterStatuses = "";
    private String stateDir;
    private String enabledSinks;
    private String fileEnabled;
    private String fileDir;
    private String syslogEnabled;
    private String syslogHost;
    private String httpEnabled;
    private String httpUrl;
    private String httpFormat;
    private String httpPreset = "";
    private String kafkaEnabled = "false";
    private String kafkaBootstrapServers;
    private String kafkaTopic;
    private String kafkaSecurityProtocol = "PLAINTEXT";
    private String kafkaRequestTimeout = "10s";
    private String kafkaDeliveryTimeout = "20s";
    private String kafkaMaxBlock = "10s";
    private String kafkaSaslJaasConfigFile = "";
    private Set<String> statuses = Set.of();
    private String httpBatchSize = "500";
    private String httpBatchTimeout = "5s";
    private String dedupeCacheSize = "500000";
    private String pageConcurrency = "";
    private String spoolMaxSize = "1024";
    private String graphBudget = "90";
    private String graphMaxThrottled = "20";
    private String graphDetails = "false";
    private String detailsStatuses = "";
    private boolean details;
    private Set<String> detailsFor = Set.of();
    private String replaySink = "";
    private String replayDeadLetters = "";
    private String replayFrom = "";
    private String replayTo = "";
    private String tenant;

    /**
     * Checks the settings that were given: those of the source (the Kamelet's, {@code trace.api} set) and those of the
     * forwarder's sinks and replay run ({@code trace.file.enabled} set). Each bean validates its own part: the Kamelet
     * knows nothing of the sinks, and with {@code trace.tenants} the sinks' settings hold no credentials.
     */
    public void validate() {
        try {
            if (api != null) {
                validateSource();
            }
            if (fileEnabled != null) {
                validateSinks();
            }
        } catch (SettingException e) {
            throw e.forTenant(tenant);
        }
    }

    private void validateSource() {
        oneOf("trace.api", api, "graph", "reporting");
        oneOf("trace.auth", auth, "oauth2", "basic", TraceAuth.MANAGED_IDENTITY);
        TraceCloud.of(cloud);
        if ("graph".equals(api) && "basic".equals(auth)) {
            throw new SettingException("trace.auth: Microsoft Graph needs oauth2 (an Entra ID app registration); basic is for trace.api=reporting only");
        }
        if ("basic".equals(auth)) {
            SettingException.require("trace.username", username, "the account of the Reporting Web Service (basic auth)");
            secret("trace.password", password, passwordFile, "the password of trace.username (basic auth)");
        } else if (TraceAuth.MANAGED_IDENTITY.equals(auth)) {
            if (!blank(managedIdentityEndpoint)) {
                url("trace.managedIdentityEndpoint", managedIdentityEndpoint);
            }
        } else {
            SettingException.require("trace.clientId", clientId, "the application (client) id of the Entra ID app registration");
            if (blank(tenantId) && (blank(tokenUrl) || tokenUrl.contains("//oauth2") || tokenUrl.contains("/" + "/oauth2"))) {
                SettingException.require("trace.tenantId", tenantId, "the directory (tenant) id or domain of the tenant");
            }
            String endpoint = blank(tokenUrl) ? TraceCloud.of(cloud).tokenUrl(tenantId) : tokenUrl;
            url("trace.tokenUrl", endpoint);
            if (blank(clientCertificate)) {
                secret("trace.clientSecret", clientSecret, clientSecretFile, "a client secret of the Entra ID app registration"
                        + " (or trace.clientCertificate: a certificate uploaded to it)");
            } else {
                if (!blank(clientSecret) || !blank(clientSecretFile)) {
                    throw new SettingException("trace.clientCertificate: set either it or trace.clientSecret, not both");
                }
                if (!endpoint.strip().startsWith("https://")) {
                    throw new SettingException("trace.tokenUrl", "an https:// URL (sign-in with trace.clientCertificate needs https)", endpoint);
                }
                // a wrong file, a wrong password or an expired certificate stops the start, before any request
                ClientCertificate.load(clientCertificate, Secret.of("trace.clientCertificatePassword", clientCertificatePassword,
                        clientCertificatePasswordFile).value()).validAt(Instant.now());
            }
        }
        Durations.parse("trace.pollInterval", pollInterval);
        atLeast("trace.dedupe.cacheSize", dedupeCacheSize, 1000);
        PageSlots.permits(pageConcurrency);
        atLeast("trace.graph.budget", graphBudget, 1);
        atLeast("trace.graph.maxThrottled", graphMaxThrottled, 1);
        int top = integer("trace.pageSize", pageSize);
        if (top < 1 || top > 5000) {
            throw new SettingException("trace.pageSize", "a number from 1 to 5000", pageSize);
        }
        SettingException.require("trace.stateDir", stateDir, "a folder for the checkpoint, the dedupe store and the spools");
        statuses = statusList(filterStatuses);
        details = bool("trace.graph.details", graphDetails);
        detailsFor = statusList(detailsStatuses);
        validateRange();
    }

    private void validateSinks() {
        atLeast("trace.http.batchSize", httpBatchSize, 1);
        Durations.parse("trace.http.batchTimeout", httpBatchTimeout);
        atLeast("trace.spool.maxSize", spoolMaxSize, 1);
        if (bool("trace.file.enabled", fileEnabled)) {
            SettingException.require("trace.file.dir", fileDir, "the folder of the *.ndjson files");
        }
        if (bool("trace.syslog.enabled", syslogEnabled)) {
            SettingException.require("trace.syslog.host", syslogHost, "the host name or address of the syslog receiver");
        }
        if (bool("trace.http.enabled", httpEnabled)) {
            if (!"azure-monitor".equals(httpPreset)) {       // Azure Monitor's URL is made of trace.azure.*
                SettingException.require("trace.http.url", httpUrl, "the http(s) URL records are POSTed to");
                url("trace.http.url", httpUrl);
            }
            oneOf("trace.http.format", httpFormat, "json-array", "ndjson");
        }
        if (bool("trace.kafka.enabled", kafkaEnabled)) {
            validateKafka();
        }
        validateReplay();
    }

    /** The Kafka sink: where to, how securely, and time-outs a producer accepts (delivery at least request). */
    private void validateKafka() {
        SettingException.require("trace.kafka.bootstrapServers", kafkaBootstrapServers,
                "host:port of one or more Kafka brokers, comma-separated");
        for (String server : kafkaBootstrapServers.split(",")) {
            if (!server.strip().matches("\\S+:\\d{1,5}")) {
                throw new SettingException("trace.kafka.bootstrapServers", "host:port of one or more Kafka brokers, comma-separated",
                        kafkaBootstrapServers);
            }
        }
        SettingException.require("trace.kafka.topic", kafkaTopic, "the topic the records are written to");
        if (!kafkaTopic.matches("[A-Za-z0-9._-]{1,249}")) {
            throw new SettingException("trace.kafka.topic", "a Kafka topic name (letters, digits, '.', '_' and '-')", kafkaTopic);
        }
        oneOf("trace.kafka.securityProtocol", kafkaSecurityProtocol, "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL");
        Duration request = Durations.parse("trace.kafka.requestTimeout", kafkaRequestTimeout);
        Durations.parse("trace.kafka.maxBlock", kafkaMaxBlock);
        if (Durations.parse("trace.kafka.deliveryTimeout", kafkaDeliveryTimeout).compareTo(request) < 0) {
            throw new SettingException("trace.kafka.deliveryTimeout", "a duration of at least trace.kafka.requestTimeout ("
                    + kafkaRequestTimeout + ")", kafkaDeliveryTimeout);
        }
        if (!blank(kafkaSaslJaasConfigFile)) {
            Secret.of("trace.kafka.saslJaasConfig", "", kafkaSaslJaasConfigFile).check("a JAAS login module line");
        }
    }

    /** A replay of a time range, as the source reads it: both ends, the second after the first. */
    private void validateRange() {
        if (blank(replayFrom) && blank(replayTo)) {
            return;
        }
        Instant from = instant("trace.replay.from", replayFrom);
        if (!from.isBefore(instant("trace.replay.to", replayTo))) {
            throw new SettingException("trace.replay.to", "a time after trace.replay.from", replayTo);
        }
    }

    /** A replay run (docs/operations.md, "Dead letters and replay"): an enabled sink, and either dead letters or a time range. */
    private void validateReplay() {
        if (blank(replaySink)) {
            if (!blank(replayDeadLetters) || !blank(replayFrom) || !blank(replayTo)) {
                throw new SettingException("trace.replay.sink", "the sink to replay to (file, syslog, http or kafka)", replaySink);
            }
            return;
        }
        oneOf("trace.replay.sink", replaySink, "file", "syslog", "http", "kafka");
        String enabled = switch (replaySink) {
            case "file" -> fileEnabled;
            case "syslog" -> syslogEnabled;
            case "kafka" -> kafkaEnabled;
            default -> httpEnabled;
        };
        if (!bool("trace." + replaySink + ".enabled", enabled)) {
            throw new SettingException("trace.replay.sink: the " + replaySink + " sink is not enabled (set trace." + replaySink + ".enabled=true)");
        }
        boolean range = !blank(replayFrom) || !blank(replayTo);
        if (blank(replayDeadLetters) == !range) {
            throw new SettingException("trace.replay.deadLetters", "the sink whose dead letters to replay (file, syslog, http or kafka), "
                    + "or else trace.replay.from and trace.replay.to, not both", replayDeadLetters);
        }
        if (range) {
            validateRange();
        } else {
            oneOf("trace.replay.deadLetters", replayDeadLetters, "file", "syslog", "http", "kafka");
        }
    }

    private static Instant instant(String property, String value) {
        try {
            return Instant.parse(value.trim());
        } catch (RuntimeException e) {
            throw new SettingException(property, "an ISO-8601 UTC time such as 2026-11-20T00:00:00Z", value);
        }
    }

    /**
     * The sinks that take every forwarded record, as a comma list ({@code file,syslog,http,kafka}; in a replay run the replay
     * sink): the forward route names them in header {@code traceSinks}, so the source's line per window counts them.
     */
    public String enabledSinks() {
        if (enabledSinks == null) {
            enabledSinks = sinkList();
        }
        return enabledSinks;
    }

    private String sinkList() {
        if (!blank(replaySink)) {
            return replaySink;
        }
        StringJoiner sinks = new StringJoiner(",");
        if (bool("trace.file.enabled", fileEnabled)) {
            sinks.add("file");
        }
        if (bool("trace.syslog.enabled", syslogEnabled)) {
            sinks.add("syslog");
        }
        if (bool("trace.http.enabled", httpEnabled)) {
            sinks.add("http");
        }
        if (bool("trace.kafka.enabled", kafkaEnabled)) {
            sinks.add("kafka");
        }
        return sinks.toString();
    }

    /** True when {@code status} passes {@code trace.filter.statuses} (an empty list forwards all). */
    public boolean forwards(String status) {
        return statuses.isEmpty() || statuses.contains(status);
    }

    /** True when a forwarded Graph record of this status gets its per-recipient events ({@code trace.graph.details}). */
    public boolean wantsDetails(String api, String status) {
        return details && TraceRecords.GRAPH.equals(api) && (detailsFor.isEmpty() || detailsFor.contains(status));
    }

    private static Set<String> statusList(String list) {
        return Arrays.stream(list == null ? new String[0] : list.split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).map(TraceRecords::status).collect(Collectors.toSet());
    }

    /** A secret given as its value or as {@code <key>File}: one of them, and the file readable and not empty. */
    private static void secret(String property, String value, String file, String expected) {
        if (!blank(file)) {
            Secret.of(property, value, file).check(expected);
        } else if (blank(value)) {
            throw new SettingException(property + ": expected " + expected + ", or " + property + "File naming a file that holds it;"
                    + " got nothing");
        }
    }

    private static boolean blank(String v) {
        return v == null || v.isBlank();
    }

    private static void oneOf(String property, String value, String... allowed) {
        List<String> ok = List.of(allowed);
        // exact: the routes use the value as it is (direct:source-<api>-page)
        if (value == null || !ok.contains(value)) {
            throw new SettingException(property, String.join(" or ", ok), value);
        }
    }

    private static boolean bool(String property, String value) {
        oneOf(property, value, "true", "false");
        return Boolean.parseBoolean(value.trim());
    }

    private static void atLeast(String property, String value, int min) {
        int n;
        try {
            n = Integer.parseInt(value.trim());
        } catch (RuntimeException e) {
            throw new SettingException(property, "a whole number of at least " + min, value);
        }
        if (n < min) {
            throw new SettingException(property, "a whole number of at least " + min, value);
        }
    }

    private static int integer(String property, String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (RuntimeException e) {
            throw new SettingException(property, "a whole number", value);
        }
    }

    private static void url(String property, String value) {
        try {
            URI u = URI.create(value.trim());
            if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme())) || u.getHost() == null) {
                throw new IllegalArgumentException();
            }
        } catch (RuntimeException e) {
            throw new SettingException(property, "an http:// or https:// URL", value);
        }
    }

    public void setApi(String api) {
        this.api = api;
    }

    public void setAuth(String auth) {
        this.auth = auth;
    }

    public void setUsername(String username) {
        this.username = username;
    }

    public void setPassword(Object password) {
        this.password = Secret.text(password);
    }

    public void setTenantId(String tenantId) {
        this.tenantId = tenantId;
    }

    public void setClientId(String clientId) {
        this.clientId = clientId;
    }

    public void setClientSecret(Object clientSecret) {
        this.clientSecret = Secret.text(clientSecret);
    }

    public void setClientSecretFile(String clientSecretFile) {
        this.clientSecretFile = clientSecretFile;
    }

    public void setPasswordFile(String passwordFile) {
        this.passwordFile = passwordFile;
    }

    public void setClientCertificate(String clientCertificate) {
        this.clientCertificate = clientCertificate;
    }

    public void setClientCertificatePassword(Object clientCertificatePassword) {
        this.clientCertificatePassword = Secret.text(clientCertificatePassword);
    }

    public void setClientCertificatePasswordFile(String clientCertificatePasswordFile) {
        this.clientCertificatePasswordFile = clientCertificatePasswordFile;
    }

    public void setCloud(String cloud) {
        this.cloud = cloud;
    }

    public void setManagedIdentityEndpoint(String managedIdentityEndpoint) {
        this.managedIdentityEndpoint = managedIdentityEndpoint;
    }

    public void setTokenUrl(String tokenUrl) {
        this.tokenUrl = tokenUrl;
    }

    public void setPollInterval(String pollInterval) {
        this.pollInterval = pollInterval;
    }

    public void setPageSize(String pageSize) {
        this.pageSize = pageSize;
    }

    public void setFilterStatuses(String filterStatuses) {
        this.filterStatuses = filterStatuses;
    }

    public void setHttpBatchSize(String httpBatchSize) {
        this.httpBatchSize = httpBatchSize;
    }

    public void setHttpBatchTimeout(String httpBatchTimeout) {
        this.httpBatchTimeout = httpBatchTimeout;
    }

    public void setDedupeCacheSize(String dedupeCacheSize) {
        this.dedupeCacheSize = dedupeCacheSize;
    }

    public void setPageConcurrency(String pageConcurrency) {
        this.pageConcurrency = pageConcurrency;
    }

    public void setSpoolMaxSize(String spoolMaxSize) {
        this.spoolMaxSize = spoolMaxSize;
    }

    public void setGraphBudget(String graphBudget) {
        this.graphBudget = graphBudget;
    }

    public void setGraphMaxThrottled(String graphMaxThrottled) {
        this.graphMaxThrottled = graphMaxThrottled;
    }

    public void setGraphDetails(String graphDetails) {
        this.graphDetails = graphDetails;
    }

    public void setDetailsStatuses(String detailsStatuses) {
        this.detailsStatuses = detailsStatuses;
    }

    public void setStateDir(String stateDir) {
        this.stateDir = stateDir;
    }

    public void setFileEnabled(String fileEnabled) {
        this.fileEnabled = fileEnabled;
    }

    public void setFileDir(String fileDir) {
        this.fileDir = fileDir;
    }

    public void setSyslogEnabled(String syslogEnabled) {
        this.syslogEnabled = syslogEnabled;
    }

    public void setSyslogHost(String syslogHost) {
        this.syslogHost = syslogHost;
    }

    public void setHttpEnabled(String httpEnabled) {
        this.httpEnabled = httpEnabled;
    }

    public void setHttpUrl(String httpUrl) {
        this.httpUrl = httpUrl;
    }

    public void setHttpPreset(String httpPreset) {
        this.httpPreset = httpPreset == null ? "" : httpPreset.strip();
    }

    public void setHttpFormat(String httpFormat) {
        this.httpFormat = httpFormat;
    }

    public void setKafkaEnabled(String kafkaEnabled) {
        this.kafkaEnabled = kafkaEnabled;
    }

    public void setKafkaBootstrapServers(String kafkaBootstrapServers) {
        this.kafkaBootstrapServers = kafkaBootstrapServers;
    }

    public void setKafkaTopic(String kafkaTopic) {
        this.kafkaTopic = kafkaTopic;
    }

    public void setKafkaSecurityProtocol(String kafkaSecurityProtocol) {
        this.kafkaSecurityProtocol = kafkaSecurityProtocol;
    }

    public void setKafkaRequestTimeout(String kafkaRequestTimeout) {
        this.kafkaRequestTimeout = kafkaRequestTimeout;
    }

    public void setKafkaDeliveryTimeout(String kafkaDeliveryTimeout) {
        this.kafkaDeliveryTimeout = kafkaDeliveryTimeout;
    }

    public void setKafkaMaxBlock(String kafkaMaxBlock) {
        this.kafkaMaxBlock = kafkaMaxBlock;
    }

    public void setKafkaSaslJaasConfigFile(String kafkaSaslJaasConfigFile) {
        this.kafkaSaslJaasConfigFile = kafkaSaslJaasConfigFile;
    }

    public void setReplaySink(String replaySink) {
        this.replaySink = replaySink;
    }

    public void setReplayDeadLetters(String replayDeadLetters) {
        this.replayDeadLetters = replayDeadLetters;
    }

    public void setReplayFrom(String replayFrom) {
        this.replayFrom = replayFrom;
    }

    /** The Kamelet's name of {@code trace.graph.detailsStatuses}. */
    public void setGraphDetailsStatuses(String statuses) {
        setDetailsStatuses(statuses);
    }

    /** The tenant these settings are for (many tenants in one process): named in every error. */
    public void setTenant(String tenant) {
        this.tenant = tenant;
    }

    public void setReplayTo(String replayTo) {
        this.replayTo = replayTo;
    }
}
