// Chat page client. Speaks the protocol in PROTOCOL.md: first frame {"name"}, then {"message"}
// frames; the server sends joined / quit / ready / chat messages / error frames. It uses the
// protocol's extensions: on a reconnect the name frame says `since` (the newest message shown), so
// only the gap comes back; every message carries an `id` and stays in an outbox until its echo
// arrives, and is sent again with the same id after a reconnect (the room stores an id once); older
// messages are loaded over HTTP when the log is scrolled to the top.
// Sign-in (PROTOCOL.md, "Identity"): a token pasted on the join screen or given as #token=… in the
// link (taken out of the address at once) goes in the name frame; verified names get a mark, and
// moderators get a delete control on messages and a ban control on verified names.
// All user-provided text is rendered with textContent, never as HTML.
'use strict';

(() => {
  const RATE_LIMIT_ERROR = 'Your IP is being rate-limited, please try again later.';
  const RATE_LIMIT_FOLD_MS = 5000; // refusals closer together than this share one log line
  const PRIVATE_ID = /^[0-9a-f]{64}$/;
  const MAX_ROOM_LENGTH = 32;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const STICK_THRESHOLD_PX = 40; // "at the bottom" tolerance for the log's scroll position
  const NAME_COLORS = 8;         // .name-color-0 … .name-color-7 in chat.css
  const HISTORY_LENGTH = 100;    // messages a plain join brings; fewer means the room has no older ones
  const SCROLLBACK_PAGE = 50;    // older messages fetched per scroll to the top

  const $ = (id) => document.getElementById(id);
  const ui = {
    joinScreen: $('join-screen'), joinForm: $('join-form'), joinLead: $('join-lead'),
    nameInput: $('name-input'), roomChoice: $('room-choice'), roomInput: $('room-input'),
    joinError: $('join-error'), joinButton: $('join-button'), orSeparator: $('or-separator'),
    createPrivate: $('create-private-button'), otherRoom: $('other-room-button'),
    chatScreen: $('chat-screen'), roomTitle: $('room-title'), status: $('status'),
    leave: $('leave-button'), invite: $('invite'), inviteLink: $('invite-link'),
    copyLink: $('copy-link-button'), log: $('log'), rosterPanel: $('roster-panel'),
    roster: $('roster'), rosterCount: $('roster-count'),
    messageForm: $('message-form'), messageInput: $('message-input'),
    tokenInput: $('token-input'), signIn: $('sign-in'),
  };

  // Errors after which reconnecting cannot help (the server also closes with 1008 or 1000).
  const FINAL_ERRORS = new Set(['Invalid token.', 'Sign-in required.', 'Token expired.',
    'You were banned from this room.', 'This room was closed.']);

  const state = {
    name: '',
    room: null,            // the room we are in (or trying to be in), null on the join screen
    pendingRoom: null,     // room taken from the URL fragment while only the name is asked
    socket: null,          // the current socket; events of older sockets are ignored
    ready: false,          // the current socket has received {"ready": true}
    attempt: 0,            // consecutive failed connections, drives the backoff
    reconnectTimer: null,
    lastTimestamp: 0,      // newest chat message shown, for de-duplication
    roster: new Map(),     // name -> number of sessions with that name
    verified: new Map(),   // name -> user id, for the names a token vouches for
    welcomed: false,
    connectionLost: false, // a "connection lost" line is in the log for the current outage
    lastError: null,       // last error text shown during an outage, to avoid repeating it
    lastSent: null,        // the text of the last message sent, put back in the box if it is refused
    rateLimitLine: null,   // the log line of the latest rate-limit refusals, and when it was last counted
    rateLimitAt: 0,
    stickToBottom: true,
    outbox: new Map(),     // id -> text of messages sent and not yet echoed, resent after a reconnect
    historyCount: 0,       // chat messages received before ready on the current socket
    oldestTimestamp: 0,    // oldest chat message shown, where scrollback continues
    hasOlder: false,       // the room may hold messages older than the oldest shown
    loadingOlder: false,
    token: null,           // the sign-in token, if any (kept in this tab only)
    me: null,              // what the token says ({sub, name, role, rooms}), to decide which controls to show
    finalError: null,      // an error after which the page does not reconnect
  };

  // ---- Sign-in ----------------------------------------------------------------------------

  // The server checks every token; the page only reads its claims to show the right controls.
  function readClaims(token) {
    try {
      const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const json = decodeURIComponent(escape(atob(part)));
      const claims = JSON.parse(json);
      return claims && typeof claims.sub === 'string' ? claims : null;
    } catch {
      return null;
    }
  }

  function setToken(token) {
    state.token = token || null;
    state.me = token ? readClaims(token) : null;
    try {
      if (token) sessionStorage.setItem('chat.token', token); else sessionStorage.removeItem('chat.token');
    } catch { /* storage may be disabled */ }
  }

  // #token=… (alone, or after the room as #room&token=…) signs in; it leaves the address bar at once.
  function takeTokenFromHash() {
    const match = /(^#|&)token=([^&]*)/.exec(location.hash);
    if (!match) return;
    setToken(decodeURIComponent(match[2]));
    const rest = location.hash.slice(1).replace(/(^|&)token=[^&]*/, '').replace(/^&/, '');
    history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
  }

  const isModerator = () => !!state.me && (state.me.role === 'admin' ||
    (state.me.role === 'moderator' && (!Array.isArray(state.me.rooms) || state.me.rooms.includes('*') || state.me.rooms.includes(state.room))));

  try { setToken(sessionStorage.getItem('chat.token')); } catch { /* storage may be disabled */ }
  takeTokenFromHash();

  // ---- Rooms and the URL fragment ---------------------------------------------------------

  function normalizeRoom(raw) {
    // A '/' would reach the server as %2F, which is not decoded in paths: keep names simple.
    let room = raw.trim().replace(/\//g, '-');
    if (/^[0-9a-f]{64}$/i.test(room)) room = room.toLowerCase();
    return room;
  }

  function roomProblem(room) {
    if (!room) return 'Please enter a room name.';
    if (room.length > MAX_ROOM_LENGTH && !PRIVATE_ID.test(room)) {
      return `Room names are at most ${MAX_ROOM_LENGTH} characters.`;
    }
    return null;
  }

  function roomFromHash() {
    let raw = location.hash.slice(1);
    try { raw = decodeURIComponent(raw); } catch { /* malformed escape: use it as it is */ }
    return normalizeRoom(raw);
  }

  const isPrivate = (room) => PRIVATE_ID.test(room);
  const roomLabel = (room) => (isPrivate(room) ? 'the private room' : '#' + room);
  const inviteUrl = (room) => location.origin + location.pathname + location.search + '#' + room;

  // ---- Join screen ------------------------------------------------------------------------

  function showJoinScreen(problem) {
    const room = roomFromHash();
    state.pendingRoom = room && !roomProblem(room) ? room : null;
    const pending = state.pendingRoom !== null;
    ui.roomChoice.hidden = pending;
    ui.orSeparator.hidden = pending;
    ui.createPrivate.hidden = pending;
    ui.otherRoom.hidden = !pending;
    ui.joinButton.textContent = pending ? 'Join' : 'Join room';
    ui.joinLead.textContent = pending
      ? `Enter your name to join ${roomLabel(state.pendingRoom)}.`
      : 'Pick a name, then join a public room or create a private one.';
    if (!problem && room && !pending) problem = roomProblem(room);
    setJoinError(problem || null);
    ui.chatScreen.hidden = true;
    ui.joinScreen.hidden = false;
    document.title = 'Chat';
    ui.nameInput.focus();
  }

  function setJoinError(text, focusInput) {
    ui.joinError.hidden = !text;
    ui.joinError.textContent = text || '';
    if (focusInput) focusInput.focus();
  }

  function takeName() {
    const name = ui.nameInput.value.trim();
    if (!name) { setJoinError('Please enter a name.', ui.nameInput); return null; }
    try { localStorage.setItem('chat.name', name); } catch { /* storage may be disabled */ }
    return name;
  }

  // Takes a pasted token; the name to use is the token's when it has one (the server announces that one).
  function signIn(typedName) {
    if (ui.tokenInput.value.trim()) setToken(ui.tokenInput.value.trim());
    return (state.me && typeof state.me.name === 'string' && state.me.name) || typedName;
  }

  ui.joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    // Enter in the name field moves on to the room field instead of complaining about it.
    if (!state.pendingRoom && document.activeElement === ui.nameInput &&
        ui.nameInput.value.trim() && !ui.roomInput.value.trim()) {
      setJoinError(null, ui.roomInput);
      return;
    }
    const name = takeName();
    if (!name) return;
    const room = state.pendingRoom || normalizeRoom(ui.roomInput.value);
    const problem = roomProblem(room);
    if (problem) { setJoinError(problem, ui.roomInput); return; }
    state.name = signIn(name);
    enterRoom(room);
  });

  ui.createPrivate.addEventListener('click', async () => {
    const name = takeName();
    if (!name) return;
    const label = ui.createPrivate.textContent;
    ui.createPrivate.disabled = true;
    ui.createPrivate.textContent = 'Creating…';
    try {
      const response = await fetch('api/room', { method: 'POST' });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const id = (await response.text()).trim();
      if (!PRIVATE_ID.test(id)) throw new Error('the server sent an unexpected answer');
      state.name = signIn(name);
      enterRoom(id);
    } catch (err) {
      setJoinError(`Could not create a private room: ${err.message}.`);
    } finally {
      ui.createPrivate.disabled = false;
      ui.createPrivate.textContent = label;
    }
  });

  ui.otherRoom.addEventListener('click', () => {
    history.pushState(null, '', location.pathname + location.search);
    showJoinScreen();
    ui.roomInput.focus();
  });

  // ---- Entering and leaving a room --------------------------------------------------------

  function enterRoom(room) {
    closeSocket();
    state.room = room;
    state.lastTimestamp = 0;
    state.oldestTimestamp = 0;
    state.hasOlder = false;
    state.outbox.clear();
    state.welcomed = false;
    state.connectionLost = false;
    state.lastError = null;
    state.attempt = 0;
    state.stickToBottom = true;
    ui.log.replaceChildren();
    clearRoster();
    // Set state.room first so that the hashchange this causes is recognised as ours.
    if (roomFromHash() !== room) location.hash = encodeURIComponent(room);

    ui.roomTitle.textContent = isPrivate(room) ? 'Private room' : '#' + room;
    document.title = (isPrivate(room) ? 'Private room' : '#' + room) + ' · Chat';
    ui.invite.hidden = !isPrivate(room);
    if (isPrivate(room)) {
      ui.inviteLink.href = inviteUrl(room);
      ui.inviteLink.textContent = inviteUrl(room);
    }
    ui.joinScreen.hidden = true;
    ui.chatScreen.hidden = false;
    ui.messageInput.focus();
    connect();
  }

  function leaveRoom() {
    closeSocket();
    state.room = null;
    clearRoster();
  }

  ui.leave.addEventListener('click', () => {
    leaveRoom();
    history.pushState(null, '', location.pathname + location.search);
    showJoinScreen();
  });

  // Back/forward or an edited fragment: follow it.
  window.addEventListener('hashchange', () => {
    const room = roomFromHash();
    if (room === (state.room || '')) return;
    if (room && !roomProblem(room) && state.name) { enterRoom(room); return; }
    leaveRoom();
    showJoinScreen();
  });

  // ---- The socket -------------------------------------------------------------------------

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host +
      '/api/room/' + encodeURIComponent(state.room) + '/websocket';
    const ws = new WebSocket(url);
    state.socket = ws;
    state.ready = false;
    setStatus(state.connectionLost ? 'reconnecting' : 'connecting');

    ws.addEventListener('open', () => {
      if (ws !== state.socket) return;
      // The server re-sends {"joined"} for everyone present, so the roster starts over.
      clearRoster();
      state.historyCount = 0;
      // Back after a drop: ask only for what came after the newest message shown.
      const hello = state.lastTimestamp > 0 ? { name: state.name, since: state.lastTimestamp } : { name: state.name };
      if (state.token) hello.token = state.token;
      ws.send(JSON.stringify(hello));
    });
    ws.addEventListener('message', (event) => {
      if (ws === state.socket) handleFrame(event.data);
    });
    ws.addEventListener('close', (event) => {
      if (ws === state.socket) handleClose(event);
    });
  }

  function closeSocket() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    const ws = state.socket;
    state.socket = null; // from now on its events are ignored
    state.ready = false;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'Leaving');
  }

  function handleClose(event) {
    state.socket = null;
    state.ready = false;
    ui.rosterPanel.classList.add('stale');
    const nameRefused = event.code === 1009 || (event.code === 1008 && /name/i.test(event.reason));
    if (nameRefused) {
      // Reconnecting with the same name would be refused again.
      const reason = (event.reason || 'the server refused this name').replace(/\.$/, '');
      stayDisconnected(`Disconnected: ${reason}. `, 'Choose another name');
      return;
    }
    if (state.finalError) {
      // Banned, signed out, or the room was closed: the same join would be refused again.
      stayDisconnected('Disconnected. ', 'Back to the start');
      return;
    }
    if (!state.ready && state.lastError === 'Unknown private room.') {
      // The server never minted this id (a mistyped or forged link): retrying cannot help.
      stayDisconnected('This private room does not exist. ', 'Choose another room');
      return;
    }
    if (!state.connectionLost) {
      state.connectionLost = true;
      addSystem('Connection lost. Reconnecting…');
    }
    scheduleReconnect();
  }

  // A close after which reconnecting cannot help: say why, and offer the way back to the start.
  function stayDisconnected(text, label) {
    setStatus('disconnected');
    const line = addSystem(text);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.textContent = label;
    button.addEventListener('click', () => { state.finalError = null; leaveRoom(); showJoinScreen(); });
    line.append(button);
  }

  function scheduleReconnect() {
    // Exponential backoff with "equal jitter": a random delay in [base/2, base], so that many
    // clients dropped at the same moment do not all come back at the same moment.
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** state.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    state.attempt += 1;
    setStatus('reconnecting');
    ui.status.title = `Next attempt in ${(delay / 1000).toFixed(1)} s`;
    state.reconnectTimer = setTimeout(connect, delay);
  }

  // Back online: no need to wait out the backoff.
  window.addEventListener('online', () => {
    if (state.reconnectTimer) connect();
  });

  function setStatus(kind) {
    const text = {
      connecting: 'Connecting…', joining: 'Joining…', connected: 'Connected',
      reconnecting: 'Reconnecting…', disconnected: 'Disconnected',
    }[kind];
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
    ui.status.title = '';
  }

  // ---- Server frames ----------------------------------------------------------------------

  function handleFrame(raw) {
    let data;
    try { data = JSON.parse(raw); } catch { return; }
    if (!data || typeof data !== 'object') return;

    if (typeof data.error === 'string') {
      if (FINAL_ERRORS.has(data.error)) state.finalError = data.error;
      showServerError(data.error);
    } else if ('deleted' in data) {
      const gone = ui.log.querySelector(`.message[data-timestamp="${Number(data.deleted)}"]`);
      if (gone) gone.remove();
    } else if ('joined' in data) {
      const name = String(data.joined);
      if (typeof data.user === 'string') state.verified.set(name, data.user);
      rosterChange(name, +1);
      if (state.ready) addSystem(`${name} joined`);
    } else if ('quit' in data) {
      const name = String(data.quit);
      rosterChange(name, -1);
      if (state.ready) addSystem(`${name} left`);
    } else if (data.ready === true) {
      onReady();
    } else if (data.resumed === false) {
      addSystem('Some messages sent while you were away are not shown here.');
    } else if ('message' in data) {
      onChatMessage(data);
    }
  }

  function onReady() {
    state.ready = true;
    // Reset the backoff only now: a server that accepts the socket and closes it right away
    // (error + 1011) must not make us retry at full speed.
    state.attempt = 0;
    state.lastError = null;
    setStatus('connected');
    if (!state.welcomed) {
      state.welcomed = true;
      // A full page of history on joining: the room may hold older messages to scroll back to.
      state.hasOlder = state.historyCount >= HISTORY_LENGTH;
      addSystem(`Welcome to ${roomLabel(state.room)}, ${state.name}! Say hi.`);
    } else if (state.connectionLost) {
      addSystem('Reconnected.');
    }
    state.connectionLost = false;
    // What was sent but never echoed (the socket dropped), and what was typed while away, goes
    // (again) with the same ids: the room stores each id once, so nothing arrives twice.
    for (const [id, text] of state.outbox) sendFrame(id, text);
  }

  function onChatMessage(data) {
    const timestamp = Number(data.timestamp);
    if (typeof data.id === 'string') state.outbox.delete(data.id);
    if (!state.ready) state.historyCount += 1;
    // History is re-sent on every (re)connect: show only messages newer than the last one shown.
    if (!Number.isFinite(timestamp) || timestamp <= state.lastTimestamp) return;
    state.lastTimestamp = timestamp;
    if (!state.oldestTimestamp) state.oldestTimestamp = timestamp;
    appendToLog(renderMessage(String(data.name ?? ''), String(data.message), timestamp, data.user));
  }

  function showServerError(text) {
    if (text === RATE_LIMIT_ERROR) {
      // The refused message is (almost always) the last one sent: give it back rather than lose it,
      // unless the user has started typing something else.
      if (state.lastSent && !ui.messageInput.value) {
        ui.messageInput.value = state.lastSent.text;
      }
      if (state.lastSent) state.outbox.delete(state.lastSent.id);
      state.lastSent = null;
      // Refusals during one cooldown are one line with a count, moved to the end of the log. (The
      // echo of an earlier, accepted message travels through the room and may arrive after a
      // refusal: it must not split the count over several lines.)
      const now = Date.now();
      const line = state.rateLimitLine;
      if (line && line.isConnected && now - state.rateLimitAt < RATE_LIMIT_FOLD_MS) {
        line.dataset.repeat = String(Number(line.dataset.repeat || 1) + 1);
        state.rateLimitAt = now;
        if (line !== ui.log.lastElementChild) appendToLog(line);
        return;
      }
      state.rateLimitLine = addError('Slow down! Your last message was not sent (it is back in ' +
        'the box). After a few quick messages you can send about one every 5 seconds.', 'rate-limit');
      state.rateLimitAt = now;
      return;
    }
    // While the connection keeps failing, the same error would come back with every attempt.
    if (!state.ready && text === state.lastError) return;
    state.lastError = text;
    addError(text);
  }

  // ---- Log --------------------------------------------------------------------------------

  function renderMessage(name, text, timestamp, user) {
    const verified = typeof user === 'string';
    const item = document.createElement('div');
    item.className = 'message';
    if (verified ? state.me && user === state.me.sub : name === state.name) item.classList.add('own');
    item.dataset.timestamp = String(timestamp);

    const header = document.createElement('div');
    header.className = 'message-header';
    const nameEl = document.createElement('span');
    nameEl.className = 'message-name name-color-' + colorIndex(name);
    nameEl.textContent = name;
    const date = new Date(timestamp);
    const time = document.createElement('time');
    time.className = 'message-time';
    time.dateTime = date.toISOString();
    time.title = date.toLocaleString();
    time.textContent = String(date.getHours()).padStart(2, '0') + ':' +
      String(date.getMinutes()).padStart(2, '0');
    header.append(nameEl);
    if (verified) header.append(verifiedMark(user));
    header.append(time);
    if (state.me && ((verified && user === state.me.sub) || isModerator())) {
      header.append(actionButton('Delete', 'Delete this message', () => sendDelete(timestamp)));
    }
    if (verified && isModerator() && user !== state.me.sub) {
      header.append(actionButton('Ban', `Ban ${name} from this room`, () => ban(user, name)));
    }

    const body = document.createElement('div');
    body.className = 'message-text';
    body.textContent = text;
    item.append(header, body);
    return item;
  }

  function verifiedMark(user) {
    const mark = document.createElement('span');
    mark.className = 'verified';
    mark.textContent = '✓';
    mark.title = 'Signed in as ' + user;
    return mark;
  }

  function actionButton(label, title, onClick) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'message-action';
    button.textContent = label;
    button.title = title;
    button.addEventListener('click', onClick);
    return button;
  }

  function sendDelete(timestamp) {
    const ws = state.socket;
    if (ws && state.ready) ws.send(JSON.stringify({ delete: timestamp }));
  }

  async function ban(user, name) {
    if (!confirm(`Ban ${name} from this room?`)) return;
    try {
      const response = await fetch('api/bans', {
        method: 'POST',
        headers: { 'Authorization': 'Bearer ' + state.token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ user, room: state.room }),
      });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      addSystem(`${name} was banned from this room.`);
    } catch (err) {
      addError(`Could not ban ${name}: ${err.message}.`);
    }
  }

  function colorIndex(name) {
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return hash % NAME_COLORS;
  }

  function addSystem(text) {
    const line = document.createElement('div');
    line.className = 'system';
    line.textContent = text;
    appendToLog(line);
    return line;
  }

  function addError(text, extraClass) {
    const line = document.createElement('div');
    line.className = 'error';
    if (extraClass) line.classList.add(extraClass);
    line.setAttribute('role', 'alert');
    line.textContent = text;
    appendToLog(line);
    return line;
  }

  function appendToLog(node) {
    ui.log.append(node);
    if (state.stickToBottom) scrollToBottom();
  }

  function scrollToBottom() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // Remember whether the user is at the bottom: new messages then keep the view at the bottom,
  // otherwise the position is left alone.
  ui.log.addEventListener('scroll', () => {
    const { scrollHeight, scrollTop, clientHeight } = ui.log;
    state.stickToBottom = scrollHeight - scrollTop - clientHeight < STICK_THRESHOLD_PX;
    if (scrollTop < STICK_THRESHOLD_PX && state.hasOlder && !state.loadingOlder) loadOlder();
  });

  // Scrollback: the page of messages before the oldest shown goes on top, and the view keeps its
  // place (the content above it grows by exactly the height added).
  async function loadOlder() {
    const room = state.room;
    state.loadingOlder = true;
    try {
      const url = 'api/room/' + encodeURIComponent(room) + '/messages?before=' + state.oldestTimestamp +
        '&limit=' + SCROLLBACK_PAGE;
      const response = await fetch(url);
      if (!response.ok || room !== state.room) return;
      const { messages } = await response.json();
      if (messages.length < SCROLLBACK_PAGE) state.hasOlder = false;
      if (!messages.length) return;
      const fragment = document.createDocumentFragment();
      for (const m of messages) fragment.append(renderMessage(String(m.name ?? ''), String(m.message), Number(m.timestamp), m.user));
      const fromBottom = ui.log.scrollHeight - ui.log.scrollTop;
      ui.log.prepend(fragment);
      ui.log.scrollTop = ui.log.scrollHeight - fromBottom;
      state.oldestTimestamp = Number(messages[0].timestamp);
    } catch {
      // Offline or refused (429): the next scroll to the top tries again.
    } finally {
      state.loadingOlder = false;
    }
  }
  // The log also shrinks (phone keyboard, window resize): keep the bottom in view then too.
  if ('ResizeObserver' in window) {
    new ResizeObserver(() => { if (state.stickToBottom) scrollToBottom(); }).observe(ui.log);
  }

  // ---- Roster -----------------------------------------------------------------------------

  function clearRoster() {
    state.roster.clear();
    renderRoster();
  }

  function rosterChange(name, delta) {
    // The same name may be present several times (several tabs or people): count sessions.
    const count = (state.roster.get(name) || 0) + delta;
    if (count > 0) state.roster.set(name, count); else state.roster.delete(name);
    renderRoster();
  }

  function renderRoster() {
    ui.rosterPanel.classList.remove('stale');
    const names = [...state.roster.keys()]
      .sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base', numeric: true }));
    ui.roster.replaceChildren(...names.map((name) => {
      const li = document.createElement('li');
      li.textContent = name;
      li.dataset.count = String(state.roster.get(name));
      if (name === state.name) li.classList.add('me');
      const user = state.verified.get(name);
      if (user) {
        li.append(verifiedMark(user));
        if (isModerator() && user !== state.me.sub) li.append(actionButton('Ban', `Ban ${name} from this room`, () => ban(user, name)));
      }
      return li;
    }));
    let total = 0;
    for (const count of state.roster.values()) total += count;
    ui.rosterCount.textContent = total ? String(total) : '';
  }

  // ---- Sending ----------------------------------------------------------------------------

  ui.messageForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.messageInput.value;
    if (!text.trim()) return;
    const id = newId();
    state.outbox.set(id, text);
    ui.messageInput.value = '';
    if (!sendFrame(id, text)) {
      // It waits in the outbox and goes as soon as we are back.
      const last = ui.log.lastElementChild;
      if (!last || !last.classList.contains('not-connected')) {
        addSystem('Not connected right now: your message will be sent when the connection is back.')
          .classList.add('not-connected');
      }
    }
    // Sending means the user wants to see the conversation's end, including their own message.
    state.stickToBottom = true;
    scrollToBottom();
  });

  /** Sends a message frame when the socket is ready; false when it is not (the outbox keeps it). */
  function sendFrame(id, text) {
    const ws = state.socket;
    if (!ws || ws.readyState !== WebSocket.OPEN || !state.ready) return false;
    ws.send(JSON.stringify({ message: text, id }));
    state.lastSent = { id, text };
    return true;
  }

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // ---- Invite link ------------------------------------------------------------------------

  ui.copyLink.addEventListener('click', async () => {
    const link = ui.inviteLink.href;
    let copied = false;
    try {
      await navigator.clipboard.writeText(link);
      copied = true;
    } catch {
      // The async clipboard needs a secure context; fall back to selecting the link text.
      const range = document.createRange();
      range.selectNodeContents(ui.inviteLink);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { copied = document.execCommand('copy'); } catch { copied = false; }
    }
    ui.copyLink.textContent = copied ? 'Copied!' : 'Press Ctrl+C to copy';
    setTimeout(() => { ui.copyLink.textContent = 'Copy link'; }, 2000);
  });

  // ---- Start ------------------------------------------------------------------------------

  try { ui.nameInput.value = localStorage.getItem('chat.name') || ''; } catch { /* ignore */ }
  showJoinScreen();
})();
