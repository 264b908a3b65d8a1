// The chat page: the join screen (name, lobby, public or private room, sign-in), then the room, wiring the
// protocol client (chat-client.js) to the panels (log-view, people-view, composer, typing-line, lobby).

import { ChatClient, HISTORY_LENGTH, RATE_LIMIT_ERROR } from './chat-client.js';
import { Composer } from './composer.js';
import { Identity } from './identity.js';
import { Lobby } from './lobby.js';
import { LogView } from './log-view.js';
import { PeopleView } from './people-view.js';
import { TypingLine } from './typing-line.js';

const PRIVATE_ID = /^[0-9a-f]{64}$/;
const MAX_ROOM_LENGTH = 32;
const SCROLLBACK_PAGE = 50;    // older messages fetched per scroll to the top
const RATE_LIMIT_FOLD_MS = 5000; // refusals closer together than this share one log line

const $ = (id) => document.getElementById(id);
const ui = {
  joinScreen: $('join-screen'), joinForm: $('join-form'), joinLead: $('join-lead'),
  nameInput: $('name-input'), roomChoice: $('room-choice'), roomInput: $('room-input'),
  joinError: $('join-error'), joinButton: $('join-button'), orSeparator: $('or-separator'),
  createPrivate: $('create-private-button'), otherRoom: $('other-room-button'),
  lobby: $('lobby'), roomList: $('room-list'), noRooms: $('no-rooms'),
  chatScreen: $('chat-screen'), roomTitle: $('room-title'), status: $('status'),
  leave: $('leave-button'), invite: $('invite'), inviteLink: $('invite-link'),
  copyLink: $('copy-link-button'), log: $('log'), rosterPanel: $('roster-panel'),
  roster: $('roster'), rosterCount: $('roster-count'), typing: $('typing'),
  messageForm: $('message-form'), messageInput: $('message-input'), sendButton: $('send-button'),
  editing: $('editing'), tokenInput: $('token-input'),
};

const identity = new Identity();
identity.takeFromHash();
const client = new ChatClient({ baseUrl: location.origin + location.pathname.replace(/[^/]*$/, '') });
const state = {
  name: '',
  room: null,           // the room we are in (or trying to be in), null on the join screen
  pendingRoom: null,    // room taken from the URL fragment while only the name is asked
  historyCount: 0,      // chat messages received before ready on the current socket
  oldestTimestamp: 0,   // oldest chat message shown, where scrollback continues
  hasOlder: false,
  loadingOlder: false,
  rateLimitLine: null,  // the log line of the latest rate-limit refusals, and when it was last counted
  rateLimitAt: 0,
};

const isModerator = () => identity.mayModerate(state.room);
const log = new LogView(ui.log, {
  isOwn: (name, user) => (user !== undefined ? identity.isMe(user) : name === state.name),
  canEdit: (user) => identity.isMe(user),
  canDelete: (user) => identity.isMe(user) || (identity.user !== undefined && isModerator()),
  canBan: (user) => isModerator() && !identity.isMe(user),
  canReact: () => true,
  onEdit: (timestamp, text) => composer.edit(timestamp, text),
  onDelete: (timestamp) => client.remove(timestamp),
  onBan: (user, name) => ban(user, name),
  onReact: (timestamp, emoji) => client.react(timestamp, emoji),
  onNearTop: () => { if (state.hasOlder && !state.loadingOlder) loadOlder(); },
});
const people = new PeopleView({ panel: ui.rosterPanel, list: ui.roster, count: ui.rosterCount }, {
  isMe: (name, user) => (user !== undefined ? identity.isMe(user) : name === state.name),
  canBan: (user) => isModerator() && !identity.isMe(user),
  onBan: (user, name) => ban(user, name),
});
const typingLine = new TypingLine(ui.typing);
const composer = new Composer({ form: ui.messageForm, input: ui.messageInput, editing: ui.editing, send: ui.sendButton }, {
  onSend: (text) => {
    if (!client.send(text).sent) {
      // It waits in the outbox and goes as soon as we are back.
      const last = log.last;
      if (!last || !last.classList.contains('not-connected')) {
        log.system('Not connected right now: your message will be sent when the connection is back.').classList.add('not-connected');
      }
    }
    // Sending means the user wants to see the conversation's end, including their own message.
    log.stickToBottom = true;
    log.scrollToBottom();
  },
  onEdit: (timestamp, text) => client.edit(timestamp, text),
  onTyping: () => client.typing(),
  lastOwn: () => log.lastOwn(),
});
const lobby = new Lobby({ section: ui.lobby, list: ui.roomList, empty: ui.noRooms }, () => client.listRooms(), (room) => {
  ui.roomInput.value = room;
  ui.joinForm.requestSubmit(ui.joinButton);
});

// ---- Rooms and the URL fragment -----------------------------------------------------------

function normalizeRoom(raw) {
  // A '/' would reach the server as %2F, which is not decoded in paths: keep names simple.
  let room = raw.trim().replace(/\//g, '-');
  if (/^[0-9a-f]{64}$/i.test(room)) room = room.toLowerCase();
  return room;
}

function roomProblem(room) {
  if (!room) return 'Please enter a room name.';
  if (room.length > MAX_ROOM_LENGTH && !PRIVATE_ID.test(room)) return `Room names are at most ${MAX_ROOM_LENGTH} characters.`;
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

// ---- Join screen --------------------------------------------------------------------------

function showJoinScreen(problem) {
  const room = roomFromHash();
  state.pendingRoom = room && !roomProblem(room) ? room : null;
  const pending = state.pendingRoom !== null;
  ui.roomChoice.hidden = pending;
  ui.orSeparator.hidden = pending;
  ui.createPrivate.hidden = pending;
  ui.lobby.hidden = pending;
  ui.otherRoom.hidden = !pending;
  ui.joinButton.textContent = pending ? 'Join' : 'Join room';
  ui.joinLead.textContent = pending
    ? `Enter your name to join ${roomLabel(state.pendingRoom)}.`
    : 'Pick a name, then join a room below, type any room name, or create a private one.';
  if (!problem && room && !pending) problem = roomProblem(room);
  setJoinError(problem || null);
  ui.chatScreen.hidden = true;
  ui.joinScreen.hidden = false;
  document.title = 'Chat';
  if (pending) lobby.stop(); else lobby.start();
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
  if (ui.tokenInput.value.trim()) identity.set(ui.tokenInput.value.trim());
  return identity.name || typedName;
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  // Enter in the name field moves on to the room field instead of complaining about it.
  if (!state.pendingRoom && document.activeElement === ui.nameInput && ui.nameInput.value.trim() && !ui.roomInput.value.trim()) {
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

// ---- Entering and leaving a room ----------------------------------------------------------

function enterRoom(room) {
  lobby.stop();
  state.room = room;
  state.oldestTimestamp = 0;
  state.hasOlder = false;
  log.clear();
  people.clear();
  typingLine.clear();
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
  composer.focus();
  client.join(room, state.name, identity.token);
}

function leaveRoom() {
  client.leave();
  state.room = null;
  people.clear();
  typingLine.clear();
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

window.addEventListener('online', () => client.reconnectNow());

// ---- What the client tells -----------------------------------------------------------------

const on = (type, handler) => client.addEventListener(type, (event) => handler(event.detail));

on('status', ({ state: kind, retryInMs }) => {
  const text = {
    connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…', disconnected: 'Disconnected',
  }[kind];
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
  ui.status.title = retryInMs ? `Next attempt in ${(retryInMs / 1000).toFixed(1)} s` : '';
});

on('open', () => {
  // The server sends everyone present again, so the roster starts over.
  people.clear();
  state.historyCount = 0;
});

on('lost', () => {
  people.stale();
  typingLine.clear();
  log.system('Connection lost. Reconnecting…');
});

on('stopped', ({ why, reason }) => {
  people.stale();
  if (why === 'name') stayDisconnected(`Disconnected: ${reason}. `, 'Choose another name');
  else if (why === 'unknown-room') stayDisconnected('This private room does not exist. ', 'Choose another room');
  else stayDisconnected('Disconnected. ', 'Back to the start');
});

on('ready', ({ first, reconnected }) => {
  if (first) {
    // A full page of history on joining: the room may hold older messages to scroll back to.
    state.hasOlder = state.historyCount >= HISTORY_LENGTH;
    log.system(`Welcome to ${roomLabel(state.room)}, ${state.name}! Say hi.`);
  } else if (reconnected) {
    log.system('Reconnected.');
  }
});

on('resumed', ({ complete }) => {
  if (!complete) log.system('Some messages sent while you were away are not shown here.');
});

on('message', (message) => {
  if (!message.live) state.historyCount += 1;
  if (!state.oldestTimestamp) state.oldestTimestamp = message.timestamp;
  typingLine.stopped(message.name);
  log.add(message);
});

on('joined', ({ name, user, live }) => {
  people.joined(name, user);
  if (live) log.system(`${name} joined`);
});

on('quit', ({ name, live }) => {
  people.quit(name);
  typingLine.stopped(name);
  if (live) log.system(`${name} left`);
});

on('presence', ({ entries, entry }) => (entries ? people.presenceList(entries) : people.presenceChange(entry)));
on('typing', ({ name }) => typingLine.typing(name));
on('deleted', ({ timestamp }) => log.deleted(timestamp));
on('edited', ({ timestamp, message, editedAt }) => log.edited(timestamp, message, editedAt));
on('reactions', ({ timestamp, counts }) => log.reactions(timestamp, counts));

on('error', ({ text, refused }) => {
  if (text !== RATE_LIMIT_ERROR) {
    log.error(text);
    return;
  }
  if (refused) composer.giveBack(refused.text);
  // Refusals during one cooldown are one line with a count, moved to the end of the log. (The echo of an
  // earlier, accepted message travels through the room and may arrive after a refusal: it must not split
  // the count over several lines.)
  const now = Date.now();
  const line = state.rateLimitLine;
  if (line && line.isConnected && now - state.rateLimitAt < RATE_LIMIT_FOLD_MS) {
    line.dataset.repeat = String(Number(line.dataset.repeat || 1) + 1);
    state.rateLimitAt = now;
    log.moveToEnd(line);
    return;
  }
  state.rateLimitLine = log.error('Slow down! Your last message was not sent (it is back in ' +
    'the box). After a few quick messages you can send about one every 5 seconds.', 'rate-limit');
  state.rateLimitAt = now;
});

// A close after which reconnecting cannot help: say why, and offer the way back to the start.
function stayDisconnected(text, label) {
  const line = log.system(text);
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link';
  button.textContent = label;
  button.addEventListener('click', () => { leaveRoom(); showJoinScreen(); });
  line.append(button);
}

// ---- Moderation ----------------------------------------------------------------------------

async function ban(user, name) {
  if (!confirm(`Ban ${name} from this room?`)) return;
  try {
    const response = await fetch('api/bans', {
      method: 'POST',
      headers: { 'Authorization': 'Bearer ' + identity.token, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user, room: state.room }),
    });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    log.system(`${name} was banned from this room.`);
  } catch (err) {
    log.error(`Could not ban ${name}: ${err.message}.`);
  }
}

// ---- Scrollback ------------------------------------------------------------------------------

async function loadOlder() {
  state.loadingOlder = true;
  try {
    const messages = await client.loadOlder(state.oldestTimestamp, SCROLLBACK_PAGE);
    if (messages.length < SCROLLBACK_PAGE) state.hasOlder = false;
    if (!messages.length) return;
    log.prepend(messages.map((m) => ({
      name: String(m.name ?? ''), message: String(m.message), timestamp: Number(m.timestamp),
      user: typeof m.user === 'string' ? m.user : undefined,
      editedAt: Number.isFinite(m.editedAt) ? m.editedAt : undefined,
      reactions: m.reactions ? Object.entries(m.reactions) : undefined,
    })));
    state.oldestTimestamp = Number(messages[0].timestamp);
  } catch {
    // Offline or refused (429): the next scroll to the top tries again.
  } finally {
    state.loadingOlder = false;
  }
}

// ---- Invite link -----------------------------------------------------------------------------

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

// ---- Start -------------------------------------------------------------------------------------

try { ui.nameInput.value = localStorage.getItem('chat.name') || ''; } catch { /* ignore */ }
showJoinScreen();
