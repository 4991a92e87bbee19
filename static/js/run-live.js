// Live view of one HAN test run. The page starts from the snapshot embedded in it, then
// follows the run's WebSocket: a snapshot on every (re)connect, then events. Every event is
// applied idempotently, so one that arrives twice or after the snapshot changes nothing.
(function () {
  "use strict";

  const section = document.getElementById("run");
  if (!section) return;
  const runId = section.dataset.runId;
  const staff = section.dataset.staff === "1";
  const $ = (selector) => document.querySelector(selector);
  const TERMINAL = new Set(["passed", "failed", "error", "cancelled"]);

  const state = {
    run: null, steps: new Map(), interfaces: new Map(), devices: new Map(), findings: [],
    cancelling: false,
  };
  // The words a customer may read, in the page's language, from the page itself
  // (portal/test_runs/customer_words.py); "{name}" stands for a value filled in here.
  const WORDS = JSON.parse(document.getElementById("run-words").textContent);
  const say = (key, values) =>
    WORDS[key].replace(/\{(\w+)\}/g, (whole, name) => (values && name in values ? String(values[name]) : whole));
  const CANCELLING = say("cancelling");

  function text(tag, value, className) {
    const node = document.createElement(tag);
    node.textContent = value == null ? "" : String(value);
    if (className) node.className = className;
    return node;
  }

  function applyRun(run) {
    // A finished run never goes back to running, whatever order events arrive in.
    if (state.run && TERMINAL.has(state.run.status) && !TERMINAL.has(run.status)) return;
    if (state.run && !TERMINAL.has(run.status) && run.progress < state.run.progress) {
      run = Object.assign({}, run, { progress: state.run.progress });
    }
    state.run = run;
    const status = $("[data-run-status]");
    status.textContent = run.status_label;
    status.className = "status status--" + run.status;
    $("#run-progress").value = run.progress;
    $("#run-progress").textContent = run.progress + "%";
    // Once asked to cancel, the page says so until the run ends, whatever the worker is at.
    state.cancelling = run.active && (state.cancelling || run.cancel_requested);
    $("[data-run-phase]").textContent = !run.active ? "" : state.cancelling ? CANCELLING : run.phase || "";
    $("[data-run-estimate]").textContent =
      run.active && run.estimated_seconds && !state.cancelling
        ? say("secondsLeft", { seconds: run.estimated_seconds })
        : "";
    const cancel = $("[data-cancel-form] button");
    if (cancel) {
      cancel.disabled = state.cancelling;
      cancel.textContent = state.cancelling ? say("cancellingButton") : say("cancelButton");
    }
    const error = $("[data-run-error]");
    error.textContent = run.error || "";
    error.hidden = !run.error;
    const hasActions = document.querySelectorAll("[data-actions] li").length > 0;
    document.querySelectorAll("[data-when]").forEach((node) => {
      const when = node.dataset.when;
      if (when === "active") node.hidden = !run.active;
      else if (when === "finished") node.hidden = run.active;
      // Nothing to act on after a pass, unless something was already recorded.
      else if (when === "needs-action") node.hidden = run.active || (run.status === "passed" && !hasActions);
    });
    const listed = $("[data-current-run-status]");
    if (listed) listed.textContent = run.status_label;
    if (run.status === "passed") {
      // A passing run resolves its case.
      $("[data-case-status]").textContent = say("resolved");
      $("[data-case-state]").className = "case-state case-state--resolved";
      $("[data-case-resolved-note]").hidden = false;
    }
    $("[data-findings-pending]").hidden = !run.active || state.findings.length > 0;
    renderVerdict();
    if (!run.active) {
      redrawPicture();
      refreshCaseWork();
    }
  }

  // Staff: the case card was drawn while the run was going; once it has finished, the
  // finished run's choices (the devices it found, for one) come from the page drawn afresh.
  let caseWorkStale = section.dataset.renderedActive === "1";
  // A form someone is filling in is never swept away: the card waits for the next change.
  function beingFilledIn(holder) {
    if (holder.contains(document.activeElement) && document.activeElement !== document.body) return true;
    return Array.from(holder.querySelectorAll("input, textarea")).some(
      (field) => field.type !== "hidden" && field.type !== "checkbox" && field.value !== field.defaultValue,
    );
  }

  function refreshCaseWork() {
    const holder = document.getElementById("case");
    if (!holder || !caseWorkStale || beingFilledIn(holder)) return;
    caseWorkStale = false;
    const open = new Set(
      Array.from(holder.querySelectorAll("details[open] > summary")).map((summary) => summary.textContent),
    );
    fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => (response.ok ? response.text() : Promise.reject(response.status)))
      .then((html) => {
        const page = new DOMParser().parseFromString(html, "text/html");
        // The case's state (resolved by a run on another page, closed by someone else).
        const freshState = page.querySelector("[data-case-state]");
        const shownState = $("[data-case-state]");
        if (freshState && shownState) shownState.replaceWith(document.adoptNode(freshState));
        const fresh = page.getElementById("case");
        if (!fresh) return;
        if (beingFilledIn(holder)) {
          caseWorkStale = true;
          return;
        }
        fresh.querySelectorAll("details > summary").forEach((summary) => {
          if (open.has(summary.textContent)) summary.parentElement.open = true;
        });
        holder.replaceWith(document.adoptNode(fresh));
      })
      .catch(() => {
        caseWorkStale = true;
      });
  }

  // The run's one-line answer, first on the page: what is wrong, what to do, and (for staff)
  // the customer's own words, so the rep can read them out.
  function renderVerdict() {
    const holder = $("[data-verdict]");
    const run = state.run;
    const groups = findingGroups(state.findings);
    holder.hidden = !run || run.active || groups.length === 0;
    if (holder.hidden) return;
    const top = groups[0];
    const first = top[0];
    holder.className = "verdict__body verdict__body--" + first.severity;
    const list = document.createElement("dl");
    const add = (term, words, className) => {
      list.append(text("dt", term), text("dd", words, className));
    };
    const wrong = groupTitle(top) || first.title;
    if (!staff) {
      add(say("whatWeFound"), first.customer_text);
    } else if (first.severity === "pass") {
      add("Verdict", first.title);
      add("Tell the customer", first.customer_text, "verdict__quote");
    } else {
      add("What is wrong", wrong);
      if (first.action !== "none") add("What to do", first.action_label);
      add("Tell the customer", first.customer_text, "verdict__quote");
    }
    holder.replaceChildren(list);
    const more = groups.length - 1;
    if (more > 0) {
      const words = staff
        ? more + (more === 1 ? " more finding" : " more findings") + " in the diagnosis below."
        : more === 1 ? say("oneMoreThing") : say("moreThings", { count: more });
      holder.append(text("p", words, "muted"));
    }
  }

  // The HAN picture is drawn by the server; a page opened mid-run redraws it once the run ends.
  function redrawPicture() {
    const holder = $("[data-han-pictures]");
    if (!holder || holder.dataset.drawn !== "partial") return;
    holder.dataset.drawn = "loading";
    fetch(holder.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then((html) => {
        holder.innerHTML = html;
        holder.dataset.drawn = "final";
      })
      .catch(() => {
        holder.dataset.drawn = "partial";
      });
  }

  const STEP_ICONS = { running: "…", done: "✓", failed: "✗", skipped: "–" };

  function renderSteps() {
    const list = $("[data-steps]");
    list.replaceChildren();
    state.steps.forEach((step) => {
      const item = document.createElement("li");
      item.className = "step step--" + step.status;
      item.dataset.key = step.key;
      item.append(text("span", STEP_ICONS[step.status] || "", "step__icon"));
      item.append(text("span", step.title, "step__title"));
      if (step.detail) item.append(text("span", " — " + step.detail, "muted"));
      list.append(item);
    });
  }

  function renderInterfaces() {
    const body = $("[data-interfaces]");
    if (!body) return;
    body.replaceChildren();
    state.interfaces.forEach((item) => {
      const row = document.createElement("tr");
      row.append(text("th", item.identifier));
      row.firstChild.scope = "row";
      row.append(text("td", item.channel ?? "—"));
      row.append(text("td", item.pan_id == null ? "—" : "0x" + item.pan_id.toString(16).toUpperCase().padStart(4, "0")));
      row.append(text("td", item.security_level ?? "—"));
      const count = item.device_count ?? "—";
      row.append(text("td", item.max_devices == null ? count : count + " of " + item.max_devices));
      body.append(row);
    });
    // What the gateway said of each interface, as a head-end shows it, readable on a phone.
    const facts = $("[data-interface-facts]");
    if (!facts) return;
    facts.replaceChildren(
      ...[...state.interfaces.values()]
        .filter((item) => item.summary)
        .map((item) => {
          const line = text("p", "", "muted");
          line.append(text("strong", item.identifier), " " + item.summary);
          return line;
        })
    );
  }

  function signalCell(device) {
    const cell = document.createElement("td");
    if (!device.reachable) {
      cell.append(text("span", say("noAnswer"), "signal signal--bad"));
      return cell;
    }
    const label = device.link_quality_label || "unknown";
    const shown = staff && device.link_quality != null
      ? label + " (LQI " + device.link_quality + (device.rssi != null ? ", " + device.rssi + " dBm" : "") + ")"
      : WORDS["signal_" + label] || label;
    cell.append(text("span", shown, "signal signal--" + label));
    return cell;
  }

  const CHECK_LABELS = {
    acknowledged: say("check_acknowledged"),
    not_acknowledged: say("check_not_acknowledged"),
    not_delivered: say("check_not_delivered"),
    "": "—",
  };

  function deviceRow(device) {
    const row = document.createElement("tr");
    row.dataset.key = device.key;
    row.className = "device device--" + device.network;
    const name = text("th", device.category_label);
    name.scope = "row";
    if (device.network === "customer") {
      name.append(text("span", staff ? " Customer HAN" : " " + say("yourOwnDevice"), "badge badge--customer"));
    }
    row.append(name);
    if (staff) {
      const id = document.createElement("td");
      id.append(text("code", device.eui64));
      if (device.network_address) id.append(text("span", " " + device.network_address, "muted"));
      row.append(id);
    }
    row.append(text("td", [device.manufacturer, device.model].filter(Boolean).join(" ") || "—"));
    row.append(signalCell(device));
    if (staff) {
      const joined = text("td", device.join_method_label, device.join_method === "default_key" ? "bad" : "");
      if (device.aps_encrypted !== null && device.aps_encrypted !== undefined) {
        joined.append(document.createElement("br"));
        joined.append(text("span", device.aps_encrypted ? "answers APS-secured" : "answers without APS security", "muted"));
      }
      row.append(joined);
      row.append(text("td", device.network === "customer" ? "Customer-owned" : device.registered ? "Yes" : "No"));
    }
    row.append(text("td", CHECK_LABELS[device.operational_check || ""] || device.operational_check));
    return row;
  }

  function renderDevices() {
    const body = $("[data-devices]");
    const ordered = Array.from(state.devices.values()).sort((a, b) => a.sequence - b.sequence);
    body.replaceChildren(...ordered.map(deviceRow));
    $("[data-device-count]").textContent = String(ordered.length);
    $("[data-no-devices]").hidden = ordered.length > 0 || !state.run || state.run.active;
  }

  function findingItem(finding) {
    const item = document.createElement("li");
    item.className = "finding finding--" + finding.severity;
    item.dataset.rule = finding.rule;
    if (staff) {
      item.append(text("strong", finding.title));
      if (finding.evidence) item.append(text("p", finding.evidence, "finding__evidence"));
      if (finding.action !== "none") item.append(text("p", "Recommended: " + finding.action_label, "finding__action"));
      if (finding.customer_text) item.append(text("p", "Tell the customer: “" + finding.customer_text + "”", "finding__customer"));
    } else {
      item.append(text("p", finding.customer_text));
    }
    return item;
  }

  // Findings of one rule in a row: one line for all of them, the devices behind a disclosure.
  function findingGroups(findings) {
    const groups = [];
    findings.forEach((finding) => {
      const last = groups[groups.length - 1];
      if (last && last[0].rule === finding.rule) last.push(finding);
      else groups.push([finding]);
    });
    return groups;
  }

  // Several findings of one rule in the rule's own words ("22 devices run …"); "" for one.
  function groupTitle(group) {
    const words = group[0].group_words;
    return group.length > 1 && words ? words.replace("{count}", String(group.length)) : "";
  }

  function groupItem(group) {
    const first = group[0];
    if (!staff) {
      // The customer's words once each: twenty devices needing an update is one sentence.
      const said = new Set(group.map((finding) => finding.customer_text));
      if (said.size === 1) return findingItem(first);
      const item = findingItem(first);
      item.replaceChildren(...Array.from(said, (words) => text("p", words)));
      return item;
    }
    const title = groupTitle(group);
    if (!title) return group.map(findingItem);
    const item = document.createElement("li");
    item.className = "finding finding--" + first.severity;
    item.dataset.rule = first.rule;
    item.dataset.count = String(group.length);
    item.append(text("strong", title));
    if (first.action !== "none") item.append(text("p", "Recommended: " + first.action_label, "finding__action"));
    new Set(group.map((finding) => finding.customer_text)).forEach((words) => {
      if (words) item.append(text("p", "Tell the customer: “" + words + "”", "finding__customer"));
    });
    const details = document.createElement("details");
    details.append(text("summary", "The " + group.length + " devices"));
    const members = document.createElement("ul");
    members.className = "finding__members";
    group.forEach((finding) => {
      const member = text("li", finding.title);
      if (finding.evidence) member.append(text("p", finding.evidence, "finding__evidence"));
      members.append(member);
    });
    details.append(members);
    item.append(details);
    return item;
  }

  function renderFindings() {
    const groups = findingGroups(state.findings);
    $("[data-findings]").replaceChildren(...groups.flatMap(groupItem));
    // A customer told one thing in the verdict is not told it again below.
    $("[data-findings-section]").hidden = !staff && groups.length === 1;
    renderVerdict();
    $("[data-findings-pending]").hidden = state.findings.length > 0 || !(state.run && state.run.active);
    // Recommended actions first in the action picker, the first one chosen.
    const select = $("[data-action-select]");
    if (!select || !staff) return;
    const recommended = state.findings.map((f) => f.action).filter((a) => a && a !== "none");
    recommended.slice().reverse().forEach((action) => {
      const option = select.querySelector('option[value="' + action + '"]');
      if (option) select.prepend(option);
    });
    if (recommended.length) select.value = recommended[0];
  }

  function renderActions(actions) {
    const list = $("[data-actions]");
    if (!list) return;
    list.replaceChildren(
      ...actions.map((action) => {
        const when = action.recorded_at_text;
        const item = text("li", action.action_label + (action.note ? ": " + action.note : ""));
        item.append(text("span", " — " + action.recorded_by + ", " + when, "muted"));
        return item;
      })
    );
  }

  function renderComparison(comparison) {
    const holder = $("[data-comparison]");
    const sectionNode = $("[data-comparison-section]");
    if (!comparison) {
      sectionNode.hidden = true;
      return;
    }
    sectionNode.hidden = false;
    holder.replaceChildren();
    const findingText = (f) => (staff ? f.title : f.customer_text);
    const deviceText = (d) => d.category_label + (staff ? " " + d.eui64 : "");
    const lines = [];
    [
      [comparison.findings_resolved, "good", "resolvedPrefix", findingText],
      [comparison.findings_new, "bad", "newPrefix", findingText],
      [comparison.devices_found, "good", "deviceFound", deviceText],
      [comparison.devices_lost, "bad", "deviceLost", deviceText],
    ].forEach(([items, kind, words, describe]) =>
      items.forEach((item) => lines.push([kind, say(words, { what: describe(item) })]))
    );
    comparison.link_quality_changes.forEach((c) => {
      const better = c.after > c.before;
      const what = deviceText(c.device) + (staff ? " (" + c.before + " → " + c.after + ")" : "");
      lines.push([better ? "good" : "bad", say(better ? "signalBetter" : "signalWorse", { what: what })]);
    });
    if (!lines.length) lines.push(["", say("noChange", { number: comparison.previous_run.number })]);
    const list = document.createElement("ul");
    list.className = "comparison";
    lines.forEach(([kind, line]) => list.append(text("li", line, kind ? "change change--" + kind : "change")));
    holder.append(list);
  }

  // Cancel at once on the page, then through the API; the form still works without script.
  const cancelForm = $("[data-cancel-form]");
  if (cancelForm) {
    cancelForm.addEventListener("submit", (submitted) => {
      submitted.preventDefault();
      state.cancelling = true;
      if (state.run) applyRun(state.run);
      const token = cancelForm.querySelector("[name=csrfmiddlewaretoken]").value;
      fetch("/api/v1/runs/" + runId + "/cancel/", {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token },
      })
        .then((response) =>
          response.json().then((body) => {
            if (!response.ok) throw new Error(body.detail || say("cancelFailed"));
            applyRun(body.run);
          })
        )
        .catch((error) => {
          state.cancelling = false;
          if (state.run) applyRun(state.run);
          const message = $("[data-run-error]");
          message.textContent = error.message || say("cancelFailed");
          message.hidden = false;
        });
    });
  }

  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });

  // A "wrong" verdict needs a comment: the browser says so at the comment, keeping the choice.
  document.querySelectorAll("[data-review-form]").forEach((form) => {
    const comment = form.querySelector("textarea");
    const wrong = form.querySelector('input[value="wrong"]');
    const sync = () => {
      comment.required = wrong.checked;
    };
    form.addEventListener("change", sync);
    sync();
  });

  // Staff only: the case's timeline, redrawn from every snapshot (the server sends a fresh
  // one when a run finishes), in the utility's time zone as the server wrote it.
  function renderTimeline(timeline) {
    const list = $("[data-timeline]");
    if (!list || !timeline) return;
    list.replaceChildren(
      ...timeline.map((event) => {
        const item = document.createElement("li");
        const when = text("time", event.at_text);
        when.setAttribute("datetime", event.at);
        item.append(when, " ", text("strong", event.who), " " + event.what);
        if (event.run_id && String(event.run_id) !== runId) {
          const link = text("a", "open");
          link.href = "/runs/" + event.run_id + "/";
          item.append(" · ", link);
        }
        return item;
      })
    );
    $("[data-timeline-section]").hidden = timeline.length === 0;
  }

  // The live lists: each event of one kind carries one item, kept by its key and drawn again.
  const LISTS = {
    step: { name: "steps", key: "key", render: renderSteps },
    interface: { name: "interfaces", key: "identifier", render: renderInterfaces },
    device: { name: "devices", key: "key", render: renderDevices },
  };

  function applySnapshot(snapshot) {
    state.run = null;
    applyRun(snapshot.run);
    const lists = Object.values(LISTS);
    for (const list of lists) {
      state[list.name] = new Map(snapshot[list.name].map((item) => [item[list.key], item]));
    }
    lists.forEach((list) => list.render());
    state.findings = snapshot.findings;
    renderFindings();
    renderActions(snapshot.actions);
    renderComparison(snapshot.comparison);
    renderTimeline(snapshot.timeline);
  }

  function applyEvent(event) {
    const list = LISTS[event.kind];
    if (list) {
      const item = event[event.kind];
      state[list.name].set(item[list.key], item);
      list.render();
      return;
    }
    switch (event.kind) {
      case "snapshot":
        applySnapshot(event);
        break;
      case "run": {
        const wasActive = state.run && state.run.active;
        applyRun(event.run);
        renderDevices();
        // The comparison and recorded actions come with the finished run's snapshot.
        if (wasActive && !event.run.active) reconnectSoon(0);
        break;
      }
      case "findings":
        state.findings = event.findings;
        renderFindings();
        break;
      case "actions":
        reconnectSoon(0);
        break;
      case "case":
        // Someone else worked the case: its timeline comes with a fresh snapshot, its card
        // from the page drawn afresh.
        caseWorkStale = true;
        refreshCaseWork();
        reconnectSoon(0);
        break;
      default:
        break;
    }
  }

  let socket = null;
  let retryDelay = 500;
  let retryTimer = null;
  const connection = $("[data-connection]");

  function connect() {
    retryTimer = null;
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + window.location.host + "/ws/runs/" + runId + "/");
    socket = ws;
    ws.addEventListener("open", () => {
      if (ws !== socket) return;
      retryDelay = 500;
      connection.textContent = "";
      section.dataset.live = "1";
    });
    ws.addEventListener("message", (message) => {
      if (ws !== socket) return;
      lastMessage = Date.now();
      try {
        applyEvent(JSON.parse(message.data));
      } catch (error) {
        console.error("bad live event", error);
      }
    });
    ws.addEventListener("close", (event) => {
      if (ws !== socket) return;
      section.dataset.live = "0";
      if (event.code === 4403) {
        connection.textContent = say("liveUnavailable");
        return;
      }
      if (state.run && !state.run.active && event.wasClean) return;
      connection.textContent = say("reconnecting");
      reconnectSoon(retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    });
  }

  function reconnectSoon(delay) {
    if (retryTimer) return;
    if (socket) {
      // A fresh connection brings a fresh snapshot; the old one's events are ignored.
      const old = socket;
      socket = null;
      old.close();
    }
    retryTimer = window.setTimeout(connect, delay);
  }

  // A live event can be lost (a full channel, a restarted server): if a running run says
  // nothing for a while, a fresh connection brings the saved state.
  let lastMessage = Date.now();
  window.setInterval(() => {
    if (state.run && state.run.active && Date.now() - lastMessage > 15000) {
      lastMessage = Date.now();
      reconnectSoon(0);
    }
  }, 5000);

  const embedded = document.getElementById("run-snapshot");
  if (embedded) applySnapshot(JSON.parse(embedded.textContent));
  connect();
})();
