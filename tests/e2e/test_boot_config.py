"""Where the boot image gets the agent config: a URL on the kernel command
line (nothing baked in), or the command line's registration URI overriding
the baked one. Either way the VM registers and installs."""
import http.server
import re
import threading

from vm_lab import Lab


def serve(text):
    """A plain HTTP server on 127.0.0.1 answering /config.yaml; returns (server, port)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/config.yaml":
                self.send_error(404)
                return
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def installed(lab):
    name = lab.wait("the host to register", lab.only_host, timeout=600)
    lab.wait("InstallationReady",
             lambda: (lab.condition(name, "InstallationReady") or {}).get("status") == "True")
    assert lab.wait_reboot() == 0
    return name


def test_config_from_a_url_on_the_kernel_command_line(tmp_path, agent_bin):
    with Lab(tmp_path / "lab", agent_bin) as lab:
        reg = lab.registration(baked_config="")
        srv, port = serve(reg.config_text)
        try:
            lab.boot(kernel_args=f"elemental.config.url=http://10.0.2.2:{port}/config.yaml")
            installed(lab)
        finally:
            srv.shutdown()
        assert "agent config written to /etc/elemental/agent/config.yaml" in lab.serial()


def test_registration_uri_on_the_command_line_overrides_the_baked_one(tmp_path, agent_bin):
    with Lab(tmp_path / "lab", agent_bin) as lab:
        reg = lab.registration()
        # Bake a config whose URI names a port nobody listens on.
        wrong = re.sub(r"(https://[^:/]+:)\d+", r"\g<1>9", reg.config_text)
        assert wrong != reg.config_text
        lab.registration(name="fleet2", baked_config=wrong)
        lab.boot(kernel_args=f"elemental.registration.uri={reg.uri}")
        installed(lab)
