package org.m365trace.state;

import java.nio.file.Path;
import java.util.regex.Pattern;

import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.spi.PropertiesFunction;
import org.m365trace.SettingException;

/**
 * The placeholder function {@code {{instance:<key>}}}: the folder of the setting {@code <key>} (such as
 * {@code trace.stateDir}) as this instance uses it for the state that is its own: the sinks' spools and dead letters
 * (its output files are named by it in {@code trace.file.dir}: TraceFiles). With {@code trace.state.store=file} (one forwarder per folder) it is the folder as set. With
 * {@code jdbc}, where several instances share the tenants, it is the folder's subfolder named by the instance
 * ({@code trace.instance}, else the host name), so that instances may share one volume without one touching the
 * other's spools or files.
 * <p>
 * Found by Camel through {@code META-INF/services/org/apache/camel/properties-function/instance}, in any runtime that
 * loads the routes (the jar, Camel JBang, Karaf).
 */
@org.apache.camel.spi.annotations.PropertiesFunction("instance")
public class InstanceFolder implements PropertiesFunction, CamelContextAware {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private CamelContext camelContext;

    @Override
    public String getName() {
        return "instance";
    }

    @Override
    public String apply(String key) {
        String folder = camelContext.getPropertiesComponent().resolveProperty(key)
                .orElseThrow(() -> new IllegalArgumentException("Property with key [" + key + "] not found in properties from text: instance:" + key));
        // an empty folder stays empty: trace.file.dir of a disabled file sink (TraceSettings names what is missing)
        return folder.isBlank() ? folder : folder(folder, setting("trace.state.store"), setting("trace.instance"));
    }

    /** {@code folder} as the instance named {@code instance} uses it under the state store {@code store}. */
    public static String folder(String folder, String store, String instance) {
        if (!TraceStateStore.JDBC.equals(TraceStateStore.storeOf(store))) {
            return folder;
        }
        return Path.of(folder).resolve(name(instance)).toString();
    }

    /**
     * {@code instance} (trace.instance), else the host name, read once per process; a name that cannot be a folder's is
     * refused, and so is a host name that could not be read: a folder named after a fallback would be another one at
     * the next start, and the batches in it would never be delivered.
     */
    public static String name(String instance) {
        if ((instance == null || instance.isBlank()) && TraceStateStore.HOST_NAME == null) {
            throw new SettingException("trace.instance: this host's name cannot be read; expected trace.instance, a name of this"
                    + " instance that stays the same across its restarts (it names its folders and its leases)");
        }
        String name = TraceStateStore.instanceName(instance);
        if (!NAME.matcher(name).matches()) {
            throw new SettingException("trace.instance: '" + name + "' is not a usable instance name; expected letters, digits, '.', '-'"
                    + " and '_' (it names the instance's folders and its leases)");
        }
        return name;
    }

    private String setting(String key) {
        return camelContext.getPropertiesComponent().resolveProperty(key).orElse("");
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }
}
