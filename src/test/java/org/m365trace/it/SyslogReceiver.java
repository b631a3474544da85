package org.m365trace.it;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** A real loopback syslog receiver: TCP with octet-counting framing (RFC 6587), or UDP; keeps every message. */
public final class SyslogReceiver implements AutoCloseable {

    private final List<String> messages = Collections.synchronizedList(new ArrayList<>());
    private final List<String> errors = Collections.synchronizedList(new ArrayList<>());
    private final ServerSocket tcp;
    private final DatagramSocket udp;
    private final Thread thread;
    private final List<Socket> clients = Collections.synchronizedList(new ArrayList<>());

    private SyslogReceiver(boolean useTcp) throws IOException {
        if (useTcp) {
            tcp = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            udp = null;
            thread = new Thread(this::acceptLoop, "syslog-tcp");
        } else {
            udp = new DatagramSocket(0, InetAddress.getLoopbackAddress());
            tcp = null;
            thread = new Thread(this::udpLoop, "syslog-udp");
        }
        thread.setDaemon(true);
        thread.start();
    }

    public static SyslogReceiver tcp() throws IOException {
        return new SyslogReceiver(true);
    }

    public static SyslogReceiver udp() throws IOException {
        return new SyslogReceiver(false);
    }

    public int port() {
        return tcp != null ? tcp.getLocalPort() : udp.getLocalPort();
    }

    public List<String> messages() {
        synchronized (messages) {
            return new ArrayList<>(messages);
        }
    }

    /** Framing errors seen (a frame whose length prefix does not match); must stay empty. */
    public List<String> errors() {
        return errors;
    }

    private void acceptLoop() {
        while (!tcp.isClosed()) {
            try {
                Socket s = tcp.accept();
                clients.add(s);
                Thread t = new Thread(() -> readFrames(s), "syslog-tcp-client");
                t.setDaemon(true);
                t.start();
            } catch (IOException closed) {
                return;
            }
        }
    }

    /** Reads {@code LEN SP MSG} frames until the peer closes. */
    private void readFrames(Socket s) {
        try (s; InputStream in = new BufferedInputStream(s.getInputStream())) {
            while (true) {
                int len = 0;
                int c;
                int digits = 0;
                while ((c = in.read()) >= '0' && c <= '9') {
                    len = len * 10 + (c - '0');
                    digits++;
                }
                if (c < 0 && digits == 0) {
                    return;
                }
                if (c != ' ' || digits == 0) {
                    errors.add("bad frame header, char " + c);
                    return;
                }
                byte[] msg = in.readNBytes(len);
                if (msg.length != len) {
                    errors.add("short frame");
                    return;
                }
                messages.add(new String(msg, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // connection closed
        }
    }

    private void udpLoop() {
        byte[] buf = new byte[65535];
        while (!udp.isClosed()) {
            try {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                udp.receive(p);
                messages.add(new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8));
            } catch (IOException closed) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (tcp != null) {
            tcp.close();
            synchronized (clients) {
                for (Socket s : clients) {
                    s.close();
                }
            }
        }
        if (udp != null) {
            udp.close();
        }
    }

}
