// Live updates for the console: listen to the task event stream named by
// <body data-watch>, and for each changed task swap in the fragment the
// server renders for it (one renderer, in Python). EventSource reconnects by
// itself and sends Last-Event-ID, so nothing is missed across a drop.
(function () {
  "use strict";
  var body = document.body;
  var watch = body.dataset.watch;
  if (!watch || !window.EventSource) { return; }
  var fragments = body.dataset.fragments;
  var since = body.dataset.since;
  var url = watch + (watch.indexOf("?") < 0 ? "?" : "&") + "since=" + encodeURIComponent(since);
  var source = new EventSource(url);
  var live = document.getElementById("live");
  source.onopen = function () { live.hidden = false; };
  source.onerror = function () { live.hidden = true; };

  var pending = {};
  function refresh(key, path, target) {
    if (pending[key]) { return; }
    pending[key] = true;
    setTimeout(function () {
      fetch(path, {credentials: "same-origin"}).then(function (resp) {
        return resp.ok ? resp.text() : null;
      }).then(function (html) {
        pending[key] = false;
        if (html === null) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.firstElementChild;
        var old = document.getElementById(target);
        if (old) { old.replaceWith(fresh); }
        else {
          var list = document.getElementById("tasks");
          if (list) { list.prepend(fresh); }
        }
      }).catch(function () { pending[key] = false; });
    }, 150);  // coalesce bursts of events into one fetch
  }

  source.addEventListener("task", function (event) {
    var task = JSON.parse(event.data).task;
    if (fragments === "running") {
      refresh("running", "/console/fragments/running", "running");
    } else if (fragments) {
      refresh(task.id, fragments + task.id, "task-" + task.id);
      if (document.getElementById("resource-state")) {
        refresh("state", location.pathname + "/state", "resource-state");
      }
    }
  });
})();
