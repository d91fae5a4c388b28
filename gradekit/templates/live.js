// The attempt page's only script: follow the grading through server-sent events, reload when it is done.
(function () {
  var status = document.getElementById('status');
  if (!status || !window.EventSource) return;
  var source = new EventSource(status.getAttribute('data-events'));
  source.onmessage = function (event) {
    var state = JSON.parse(event.data);
    var text = state.text || state.state;
    status.textContent = text.charAt(0).toUpperCase() + text.slice(1);
    document.title = 'Attempt: ' + text;
    if (state.state === 'done' || state.state === 'error') {
      source.close();
      window.location.reload();
    }
  };
})();
