"""JupyterHub configuration of the classroom test (``classroom/hub_test.py`` sets the environment it reads).

A real hub, the way a small class would run one on a single machine, except that everything listens on
127.0.0.1 and every learner's server runs as the current user:

- **Authenticator**: JupyterHub's ``SharedPasswordAuthenticator`` (``shared-password``): every learner logs in
  with their own name and the class password the teacher hands out.
- **Spawner**: ``SimpleLocalProcessSpawner`` (``simple``): one ``jupyterhub-singleuser`` process per learner,
  run as the current user with a private home folder under the test's temporary folder (the production
  ``LocalProcessSpawner`` needs one system account per learner; Zero to JupyterHub uses one pod per learner).
- **Proxy**: configurable-http-proxy, the Node.js proxy Zero to JupyterHub runs, installed by ``make hub-test``.
- **Class mode**: ``RAGTEACH_CLASS=1`` in every learner's environment, so the notebooks load their stored
  full-mode results instead of training (a lecture where everyone runs the same cell at once; see README,
  "Teaching a class on a JupyterHub"). ``RAGTEACH_HUB_MODE=quick`` gives quick mode instead.

Read from the environment (all required): ``RAGTEACH_HUB_DIR`` (state: database, cookie secret, homes),
``RAGTEACH_HUB_PORT`` (the public proxy port), ``RAGTEACH_HUB_API_PORT`` (the hub's own port),
``RAGTEACH_PROXY_API_PORT``, ``RAGTEACH_HUB_PASSWORD`` (the class password), ``RAGTEACH_CHP`` (the
configurable-http-proxy executable) and ``RAGTEACH_SINGLEUSER`` (the ``jupyterhub-singleuser`` executable of
the environment that has ragteach installed). Learners get their API tokens from their own login session.
"""
import os

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

env = os.environ
state = env["RAGTEACH_HUB_DIR"]

c.JupyterHub.bind_url = f"http://127.0.0.1:{env['RAGTEACH_HUB_PORT']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{env['RAGTEACH_HUB_API_PORT']}"
c.JupyterHub.db_url = f"sqlite:///{os.path.join(state, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(state, "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True      # stopping the hub stops every learner's server
c.JupyterHub.cleanup_proxy = True

c.ConfigurableHTTPProxy.command = [env["RAGTEACH_CHP"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['RAGTEACH_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.should_start = True

c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = env["RAGTEACH_HUB_PASSWORD"]
c.Authenticator.allow_all = True         # anyone with the class password may log in under any name

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(state, "home", "{username}")
c.Spawner.cmd = [env["RAGTEACH_SINGLEUSER"]]
c.Spawner.ip = "127.0.0.1"
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []   # Jupyter Server refuses root without it
c.Spawner.environment = ({"RAGTEACH_QUICK": "1"} if env.get("RAGTEACH_HUB_MODE") == "quick"
                         else {"RAGTEACH_CLASS": "1"})
c.Spawner.start_timeout = 300            # ten servers starting at once on two cores take a while
c.Spawner.http_timeout = 300
c.Spawner.default_url = "/lab"

