// boxdrive console: plain JS, no dependencies. Uploads go straight to the S3 API with
// presigned URLs the console signs with the user's own keys; nothing here sees a secret.
"use strict";

(function () {
  const PART_SIZE = 8 * 1024 * 1024; // S3 needs >= 5 MiB for every part but the last
  const PARALLEL_FILES = 2;
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  // -- select all, copy link -------------------------------------------------------
  function wireSelectAll() {
    const all = document.getElementById("select-all");
    if (!all) return;
    const boxes = () => document.querySelectorAll('#objects tbody input[type=checkbox][name=key]');
    all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
  }

  function wireCopy() {
    document.querySelectorAll("[data-copy]").forEach((button) => {
      button.addEventListener("click", async () => {
        const input = document.getElementById(button.dataset.copy);
        const status = document.getElementById("copy-status");
        let copied = false;
        try {
          await navigator.clipboard.writeText(input.value);
          copied = true;
        } catch (e) {
          input.select();
          copied = document.execCommand && document.execCommand("copy");
        }
        if (status) status.textContent = copied ? "Link copied." : "Select the link and copy it.";
      });
    });
  }

  function wireConfirm() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (e) => { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
    });
  }

  // -- uploads ---------------------------------------------------------------------
  function Uploader(section) {
    this.bucket = section.dataset.bucket;
    this.prefix = section.dataset.prefix || "";
    this.presignUrl = section.dataset.presign;
    this.list = document.getElementById("uploads");
    this.done = document.getElementById("uploads-done");
    this.queue = [];
    this.active = 0;
  }

  Uploader.prototype.presign = async function (action, key, extra) {
    const response = await fetch(this.presignUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(Object.assign({ bucket: this.bucket, key: key, action: action }, extra || {})),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || !answer.url) throw new Error(answer.message || answer.error || ("HTTP " + response.status));
    return answer.url;
  };

  function send(task, method, url, body, onProgress, contentType) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      task.xhr = xhr;
      xhr.open(method, url);
      if (contentType) xhr.setRequestHeader("Content-Type", contentType);
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        task.xhr = null;
        const failed = xhr.status >= 300 || /<Error>/.test(xhr.responseText || "");
        if (failed) {
          const code = (/<Code>([^<]*)<\/Code>/.exec(xhr.responseText || "") || [])[1];
          reject(new Error(code || ("HTTP " + xhr.status)));
        } else resolve(xhr);
      };
      xhr.onerror = () => { task.xhr = null; reject(new Error("network error")); };
      xhr.onabort = () => { task.xhr = null; reject(new Error("cancelled")); };
      xhr.send(body);
    });
  }

  Uploader.prototype.add = function (file, relative) {
    const key = this.prefix + (relative || file.webkitRelativePath || file.name);
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = key;
    const buttons = document.createElement("span");
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", "Cancel upload of " + key);
    const retry = document.createElement("button");
    retry.type = "button";
    retry.textContent = "Retry";
    retry.hidden = true;
    retry.setAttribute("aria-label", "Retry upload of " + key);
    buttons.append(cancel, retry);
    const bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload progress of " + key);
    const status = document.createElement("span");
    status.className = "status";
    status.setAttribute("role", "status");
    status.textContent = "Waiting";
    item.append(name, buttons, bar, status);
    item.dataset.key = key;
    this.list.append(item);
    const task = { file: file, key: key, item: item, bar: bar, status: status, cancel: cancel, retry: retry,
      xhr: null, cancelled: false, uploadId: null };
    cancel.addEventListener("click", () => this.cancel(task));
    retry.addEventListener("click", () => { retry.hidden = true; this.enqueue(task); });
    this.enqueue(task);
  };

  Uploader.prototype.enqueue = function (task) {
    task.cancelled = false;
    task.uploadId = null;
    task.bar.value = 0;
    task.cancel.hidden = false;
    this.setStatus(task, "Waiting", "");
    this.done.hidden = true;
    this.queue.push(task);
    this.pump();
  };

  Uploader.prototype.setStatus = function (task, text, kind) {
    task.status.textContent = text;
    task.status.className = "status " + (kind || "");
    task.item.dataset.state = kind || "waiting";
  };

  Uploader.prototype.pump = function () {
    while (this.active < PARALLEL_FILES && this.queue.length) {
      const task = this.queue.shift();
      this.active += 1;
      this.run(task).finally(() => {
        this.active -= 1;
        if (!this.active && !this.queue.length) this.done.hidden = false;
        this.pump();
      });
    }
  };

  Uploader.prototype.run = async function (task) {
    const file = task.file;
    const percent = (loaded) => {
      task.bar.value = loaded;
      const share = file.size ? Math.floor((100 * loaded) / file.size) : 100;
      this.setStatus(task, "Uploading: " + share + "%", "running");
    };
    try {
      percent(0);
      if (file.size <= PART_SIZE) {
        const url = await this.presign("put", task.key);
        await send(task, "PUT", url, file, percent, file.type || "application/octet-stream");
      } else {
        await this.multipart(task, percent);
      }
      task.bar.value = task.bar.max;
      task.cancel.hidden = true;
      this.setStatus(task, "Done", "done");
    } catch (error) {
      task.cancel.hidden = true;
      task.retry.hidden = false;
      if (task.cancelled) this.setStatus(task, "Cancelled", "failed");
      else this.setStatus(task, "Failed: " + error.message, "failed");
      if (task.uploadId) this.abortUpload(task);
    }
  };

  Uploader.prototype.multipart = async function (task, percent) {
    const file = task.file;
    const created = await send(task, "POST", await this.presign("create", task.key), null, null,
      file.type || "application/octet-stream");
    const id = (/<UploadId>([^<]*)<\/UploadId>/.exec(created.responseText) || [])[1];
    if (!id) throw new Error("no upload id");
    task.uploadId = id;
    const parts = [];
    for (let start = 0, number = 1; start < file.size; start += PART_SIZE, number += 1) {
      if (task.cancelled) throw new Error("cancelled");
      const url = await this.presign("part", task.key, { uploadId: id, partNumber: number });
      const sent = await send(task, "PUT", url, file.slice(start, start + PART_SIZE), (loaded) => percent(start + loaded));
      parts.push([number, sent.getResponseHeader("ETag")]);
    }
    const body = "<CompleteMultipartUpload>" + parts.map((p) =>
      "<Part><PartNumber>" + p[0] + "</PartNumber><ETag>" + p[1] + "</ETag></Part>").join("") +
      "</CompleteMultipartUpload>";
    await send(task, "POST", await this.presign("complete", task.key, { uploadId: id }), body, null, "application/xml");
    task.uploadId = null;
  };

  Uploader.prototype.cancel = function (task) {
    task.cancelled = true;
    const index = this.queue.indexOf(task);
    if (index >= 0) {
      this.queue.splice(index, 1);
      task.cancel.hidden = true;
      task.retry.hidden = false;
      this.setStatus(task, "Cancelled", "failed");
    }
    if (task.xhr) task.xhr.abort();
  };

  Uploader.prototype.abortUpload = async function (task) {
    const id = task.uploadId;
    task.uploadId = null;
    try {
      const url = await this.presign("abort", task.key, { uploadId: id });
      await send({ xhr: null }, "DELETE", url, null, null);
    } catch (e) { /* the upload expires; fsck reports it */ }
  };

  // Folders dropped from the desktop: walk the entries for their files and paths.
  function walk(entry, path) {
    return new Promise((resolve) => {
      if (entry.isFile) {
        entry.file((file) => resolve([[file, path + file.name]]), () => resolve([]));
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        const found = [];
        const more = () => reader.readEntries(async (entries) => {
          if (!entries.length) { resolve(found); return; }
          for (const child of entries) found.push(...await walk(child, path + entry.name + "/"));
          more();
        }, () => resolve(found));
        more();
      } else resolve([]);
    });
  }

  function wireUpload() {
    const section = document.getElementById("upload");
    if (!section) return;
    const uploader = new Uploader(section);
    ["file-input", "folder-input"].forEach((id) => {
      const input = document.getElementById(id);
      input.addEventListener("change", () => {
        Array.from(input.files).forEach((f) => uploader.add(f));
        input.value = "";
      });
    });
    const zone = document.getElementById("dropzone");
    zone.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); document.getElementById("file-input").click(); }
    });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", async (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      const items = Array.from(e.dataTransfer.items || []);
      const entries = items.map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
      if (entries.length) {
        for (const entry of entries) (await walk(entry, "")).forEach(([f, p]) => uploader.add(f, p));
      } else {
        Array.from(e.dataTransfer.files).forEach((f) => uploader.add(f));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireSelectAll();
    wireCopy();
    wireConfirm();
    wireUpload();
  });
})();
