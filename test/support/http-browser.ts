/** A minimal browser for integration tests: real HTTP, one cookie jar per host (like a browser, ports share cookies), manual redirects. */
export interface Page {
  readonly status: number;
  readonly url: string;
  readonly headers: Headers;
  readonly body: string;
  readonly location: string | undefined;
}

/** The app's one-time notice cookie (src/web/notices.ts): its values are the names of notices. */
const NOTICE_COOKIE = 'o365signin.notice';

export class HttpBrowser {
  readonly #cookies = new Map<string, string>();
  readonly #seenCookieValues = new Set<string>();

  /** Every cookie value this browser was ever given (tests check that none reaches a log). */
  seenCookieValues(): string[] {
    return [...this.#seenCookieValues];
  }

  /** The cookie jar's value for a name. */
  cookie(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  setCookie(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  /** One request, no redirect followed. */
  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.#cookies.size > 0) headers.cookie = [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(url, {
      method: init.method ?? (init.form !== undefined ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    for (const line of response.headers.getSetCookie()) this.#store(line);
    const location = response.headers.get('location') ?? undefined;
    return {
      status: response.status,
      url,
      headers: response.headers,
      body: await response.text(),
      location: location === undefined ? undefined : new URL(location, url).href,
    };
  }

  /** Follows redirects until a page that is not a redirect, or until `stopAt` matches the next URL. */
  async follow(url: string, options: { stopAt?: (url: string) => boolean; form?: Record<string, string> } = {}): Promise<Page> {
    let page = await this.request(url, { form: options.form });
    for (let hops = 0; hops < 20 && page.location !== undefined && [301, 302, 303, 307, 308].includes(page.status); hops += 1) {
      if (options.stopAt?.(page.location)) return page;
      page = await this.request(page.location);
    }
    return page;
  }

  #store(line: string): void {
    const [pair, ...attributes] = line.split(';');
    const separator = pair!.indexOf('=');
    const name = pair!.slice(0, separator).trim();
    const value = pair!.slice(separator + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key, val] = attribute.trim().split('=');
      if (key?.toLowerCase() === 'max-age') return Number(val) <= 0;
      if (key?.toLowerCase() === 'expires') return Date.parse(val ?? '') <= Date.now();
      return false;
    });
    if (expired || value === '') {
      this.#cookies.delete(name);
    } else {
      this.#cookies.set(name, value);
      // The notice cookie carries a public word ("forgotten", "signed-out"), not a secret: logs may say it.
      if (name !== NOTICE_COOKIE) {
        this.#seenCookieValues.add(value);
        this.#seenCookieValues.add(decodeURIComponent(value));
      }
    }
  }
}
