/*
 * Resumable uploads for the media panel (templates/feedback/_media_panel.html).
 * Progressive enhancement: without JavaScript the panel's form posts the chosen files at once.
 *
 * With it, each chosen file is uploaded in chunks through the resumable protocol described in
 * feedback/upload_views.py: start (POST), then PATCH each chunk with its Upload-Offset. Every
 * file gets a row with a <progress> bar and a Cancel button. A broken connection is retried a
 * few times, waiting longer each time; after that the row offers "Try again", which asks the
 * server how far it got (HEAD) and continues from there. The upload's address is remembered in
 * localStorage under the file's name, size and date, so choosing the same file again (even after
 * closing the page) continues it too. Refusals (the server names the file and the reason) stay
 * in the row. Each stored file is inserted into the panel's list; files still "being processed"
 * are polled until their thumbnails are ready. Texts come translated from data-text-*.
 */
(function () {
  "use strict";

  if (window.qmUploaderLoaded) {
    return; // the script is included once per panel
  }
  window.qmUploaderLoaded = true;

  var RETRIES = 6;
  var STORE_PREFIX = "qm-upload:";

  function fill(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, function (match, name) {
      return values[name] === undefined ? "" : String(values[name]);
    });
  }

  function humanSize(bytes) {
    var units = ["B", "KB", "MB", "GB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // private mode or disabled: uploads still work, without resuming later
    }
  }

  function remembered(key) {
    var store = storage();
    return store ? store.getItem(key) : null;
  }

  function remember(key, url) {
    var store = storage();
    if (store) {
      try {
        store.setItem(key, url);
      } catch (error) {
        /* storage full: resuming after a reload is lost, nothing else */
      }
    }
  }

  function forget(key) {
    var store = storage();
    if (store) {
      store.removeItem(key);
    }
  }

  /* One request; resolves {status, data, offset} for any HTTP answer, rejects on a network error. */
  function send(method, url, options) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      var headers = options.headers || {};
      Object.keys(headers).forEach(function (name) {
        xhr.setRequestHeader(name, headers[name]);
      });
      if (options.onProgress && xhr.upload) {
        xhr.upload.onprogress = options.onProgress;
      }
      xhr.onload = function () {
        var data = null;
        try {
          data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch (error) {
          data = null;
        }
        var offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
        resolve({ status: xhr.status, data: data, offset: isNaN(offset) ? null : offset });
      };
      xhr.onerror = function () {
        reject(new Error("network"));
      };
      xhr.onabort = function () {
        reject(new Error("aborted"));
      };
      if (options.register) {
        options.register(xhr);
      }
      xhr.send(options.body === undefined ? null : options.body);
    });
  }

  function wait(seconds) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, seconds * 1000);
    });
  }

  function Panel(form) {
    this.form = form;
    this.panel = form.closest("[data-media-panel]");
    this.list = this.panel.querySelector("[data-media-list]");
    this.empty = this.panel.querySelector("[data-media-empty]");
    this.rows = form.querySelector("[data-upload-list]");
    this.input = form.querySelector('input[type="file"]');
    this.csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
    this.startUrl = form.getAttribute("data-start-url");
    this.report = form.getAttribute("data-report");
    this.caseId = form.getAttribute("data-case");
    this.chunkSize = parseInt(form.getAttribute("data-chunk-size"), 10) || 8 * 1024 * 1024;
    this.queue = Promise.resolve();
    form.addEventListener("submit", this.submit.bind(this));
  }

  Panel.prototype.text = function (name, values) {
    return fill(this.form.getAttribute("data-text-" + name), values || {});
  };

  Panel.prototype.submit = function (event) {
    event.preventDefault();
    var files = Array.prototype.slice.call(this.input.files || []);
    if (!files.length) {
      this.input.focus();
      return;
    }
    var self = this;
    files.forEach(function (file) {
      var job = new Upload(self, file);
      // One file at a time, in the order chosen: each gets the whole connection.
      self.queue = self.queue.then(function () {
        return job.run();
      });
    });
    this.input.value = "";
  };

  Panel.prototype.insert = function (media) {
    if (!media || !media.html) {
      return;
    }
    var existing = document.getElementById("media-" + media.id);
    var holder = document.createElement("ul");
    holder.innerHTML = media.html.trim();
    var item = holder.firstElementChild;
    if (existing) {
      existing.parentNode.replaceChild(item, existing);
    } else {
      this.list.appendChild(item);
    }
    if (this.empty) {
      this.empty.hidden = true;
    }
    watch(item);
  };

  function Upload(panel, file) {
    this.panel = panel;
    this.file = file;
    this.key =
      STORE_PREFIX + [panel.report, panel.caseId, file.name, file.size, file.lastModified].join(":");
    this.url = null;
    this.offset = 0;
    this.xhr = null;
    this.cancelled = false;
    this.row = this.makeRow();
  }

  Upload.prototype.makeRow = function () {
    var panel = this.panel;
    var row = document.createElement("li");
    row.className = "upload-row";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = this.file.name;
    this.bar = document.createElement("progress");
    this.bar.max = this.file.size || 1;
    this.bar.value = 0;
    this.bar.setAttribute("aria-label", this.file.name);
    this.status = document.createElement("span");
    this.status.className = "upload-status muted";
    this.status.textContent = panel.text("waiting");
    this.cancelButton = document.createElement("button");
    this.cancelButton.type = "button";
    this.cancelButton.className = "button";
    this.cancelButton.textContent = panel.text("cancel");
    this.cancelButton.addEventListener("click", this.cancel.bind(this));
    this.retryButton = document.createElement("button");
    this.retryButton.type = "button";
    this.retryButton.className = "button";
    this.retryButton.hidden = true;
    this.retryButton.textContent = panel.text("retry");
    this.retryButton.addEventListener("click", this.retry.bind(this));
    row.appendChild(name);
    row.appendChild(this.bar);
    row.appendChild(this.status);
    row.appendChild(this.cancelButton);
    row.appendChild(this.retryButton);
    panel.rows.appendChild(row);
    return row;
  };

  Upload.prototype.say = function (text, kind) {
    this.status.textContent = text;
    this.status.className = "upload-status " + (kind || "muted");
    if (kind === "error") {
      this.status.setAttribute("role", "alert");
    }
  };

  Upload.prototype.showProgress = function (done) {
    this.bar.value = done;
    this.say(
      this.panel.text("progress", { done: humanSize(done), total: humanSize(this.file.size) })
    );
  };

  Upload.prototype.finish = function (kind, text) {
    this.cancelButton.hidden = true;
    this.retryButton.hidden = kind !== "interrupted";
    this.row.classList.add("upload-" + kind);
    this.say(text, kind === "done" ? "success" : kind === "cancelled" ? "muted" : "error");
  };

  Upload.prototype.headers = function (extra) {
    var headers = { "X-CSRFToken": this.panel.csrf };
    Object.keys(extra || {}).forEach(function (name) {
      headers[name] = extra[name];
    });
    return headers;
  };

  Upload.prototype.run = function () {
    var self = this;
    if (this.cancelled) {
      return Promise.resolve();
    }
    return this.begin()
      .then(function () {
        return self.sendChunks(0);
      })
      .catch(function (error) {
        self.fail(error);
      });
  };

  /* The upload to continue (a remembered one the server still has) or a new one. */
  Upload.prototype.begin = function () {
    var self = this;
    var known = this.url || remembered(this.key);
    if (known) {
      this.say(this.panel.text("resuming"));
      return send("HEAD", known, { headers: this.headers() }).then(function (answer) {
        if (answer.status === 200 && answer.offset !== null) {
          self.url = known;
          self.offset = answer.offset;
          self.showProgress(self.offset);
          return;
        }
        forget(self.key);
        self.url = null;
        return self.start();
      });
    }
    return this.start();
  };

  Upload.prototype.start = function () {
    var self = this;
    this.say(this.panel.text("starting"));
    var body = JSON.stringify({
      report: this.panel.report,
      "case": this.panel.caseId || null,
      name: this.file.name,
      size: this.file.size,
    });
    return send("POST", this.panel.startUrl, {
      headers: this.headers({ "Content-Type": "application/json" }),
      body: body,
    }).then(function (answer) {
      if (answer.status !== 201 || !answer.data) {
        throw { refused: answer.data && answer.data.error, status: answer.status };
      }
      self.url = answer.data.url;
      self.offset = answer.data.offset || 0;
      if (answer.data.chunk_size) {
        self.panel.chunkSize = answer.data.chunk_size;
      }
      remember(self.key, self.url);
    });
  };

  Upload.prototype.sendChunks = function (attempt) {
    var self = this;
    if (this.cancelled) {
      return Promise.resolve();
    }
    var end = Math.min(this.offset + this.panel.chunkSize, this.file.size);
    var started = this.offset;
    if (end === this.file.size) {
      this.say(this.panel.text("checking"));
    }
    return send("PATCH", this.url, {
      headers: this.headers({
        "Upload-Offset": String(started),
        "Content-Type": "application/offset+octet-stream",
      }),
      body: this.file.slice(started, end),
      register: function (xhr) {
        self.xhr = xhr;
      },
      onProgress: function (event) {
        if (event.lengthComputable) {
          self.showProgress(started + event.loaded);
        }
      },
    }).then(
      function (answer) {
        self.xhr = null;
        if (answer.status === 201) {
          forget(self.key);
          self.bar.value = self.file.size;
          self.finish("done", self.panel.text("done"));
          self.panel.insert(answer.data && answer.data.media);
          return;
        }
        if (answer.status === 200 || answer.status === 409) {
          // 409: the server has a different offset (a chunk got through unanswered): go from there.
          self.offset = answer.offset !== null ? answer.offset : end;
          self.showProgress(self.offset);
          return self.sendChunks(0);
        }
        if (answer.status >= 500 || answer.status === 0) {
          return self.again(attempt);
        }
        if (answer.status === 400 || answer.status === 403 || answer.status === 404) {
          forget(self.key);
        }
        throw { refused: answer.data && answer.data.error, status: answer.status };
      },
      function (error) {
        self.xhr = null;
        if (self.cancelled || error.message === "aborted") {
          return;
        }
        return self.again(attempt);
      }
    );
  };

  /* A broken connection: wait, ask the server how far it got, continue. */
  Upload.prototype.again = function (attempt) {
    var self = this;
    if (attempt >= RETRIES) {
      throw { interrupted: true };
    }
    var seconds = Math.min(Math.pow(2, attempt), 30);
    this.say(this.panel.text("retrying", { seconds: seconds }));
    return wait(seconds)
      .then(function () {
        return send("HEAD", self.url, { headers: self.headers() });
      })
      .then(
        function (answer) {
          if (answer.status === 200 && answer.offset !== null) {
            self.offset = answer.offset;
            return self.sendChunks(attempt + 1);
          }
          if (answer.status === 404) {
            forget(self.key);
            throw { refused: answer.data && answer.data.error, status: 404 };
          }
          return self.again(attempt + 1);
        },
        function () {
          return self.again(attempt + 1);
        }
      );
  };

  Upload.prototype.fail = function (error) {
    if (this.cancelled) {
      return;
    }
    if (error && error.refused) {
      this.finish("refused", error.refused);
    } else {
      this.finish("interrupted", this.panel.text("interrupted"));
    }
  };

  Upload.prototype.retry = function () {
    var self = this;
    this.retryButton.hidden = true;
    this.cancelButton.hidden = false;
    this.row.classList.remove("upload-interrupted");
    this.panel.queue = this.panel.queue.then(function () {
      return self.run();
    });
  };

  Upload.prototype.cancel = function () {
    this.cancelled = true;
    if (this.xhr) {
      this.xhr.abort();
    }
    forget(this.key);
    if (this.url) {
      send("DELETE", this.url, { headers: this.headers() }).catch(function () {
        /* the periodic clean-up deletes it later */
      });
    }
    this.finish("cancelled", this.panel.text("cancelled"));
  };

  /* Files still being processed: ask every few seconds, then show them as they are. */
  function watch(item) {
    var url = item && item.getAttribute("data-status-url");
    if (!url || !window.fetch) {
      return;
    }
    var delay = 2000;
    function poll() {
      if (!document.body.contains(item)) {
        return;
      }
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (media) {
          if (media.state !== "processing" && media.html) {
            var holder = document.createElement("ul");
            holder.innerHTML = media.html.trim();
            item.parentNode.replaceChild(holder.firstElementChild, item);
            return;
          }
          delay = Math.min(delay * 1.5, 15000);
          window.setTimeout(poll, delay);
        })
        .catch(function () {
          delay = Math.min(delay * 2, 30000);
          window.setTimeout(poll, delay);
        });
    }
    window.setTimeout(poll, delay);
  }

  function init() {
    if (!window.XMLHttpRequest || !window.Promise || !window.Blob || !Blob.prototype.slice) {
      return; // the plain form still works
    }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-uploader]"), function (form) {
      if (!form.qmUploader) {
        form.qmUploader = new Panel(form);
      }
    });
    if (window.fetch) {
      Array.prototype.forEach.call(document.querySelectorAll("[data-media-item][data-status-url]"), watch);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
