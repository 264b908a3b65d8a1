// The lobby on the join screen: the public rooms with people in them now, busiest first, from the rooms
// directory (GET /api/rooms, at most a few seconds old), refreshed while the join screen is shown.

const REFRESH_MS = 5000;

export class Lobby {
  /**
   * @param {{section: HTMLElement, list: HTMLElement, empty: HTMLElement}} ui
   * @param {() => Promise<Array<{name: string, members: number}>>} listRooms
   * @param {(room: string) => void} onPick
   */
  constructor(ui, listRooms, onPick) {
    this.ui = ui;
    this.listRooms = listRooms;
    this.onPick = onPick;
    this.timer = null;
  }

  start() {
    this.stop();
    const refresh = async () => {
      try {
        this.render(await this.listRooms());
      } catch {
        // Offline or refused: the next refresh tries again; the form works without the list.
      }
      this.timer = setTimeout(refresh, REFRESH_MS);
    };
    refresh();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  render(rooms) {
    this.ui.empty.hidden = rooms.length > 0;
    this.ui.list.replaceChildren(...rooms.map(({ name, members }) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'room-link';
      const title = document.createElement('span');
      title.className = 'room-name';
      title.textContent = '#' + name;
      const count = document.createElement('span');
      count.className = 'room-members';
      count.textContent = `${members} ${members === 1 ? 'person' : 'people'}`;
      button.append(title, count);
      button.title = `Join #${name}`;
      button.addEventListener('click', () => this.onPick(name));
      li.append(button);
      return li;
    }));
  }
}
