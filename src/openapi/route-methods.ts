import type { RouteMethods } from '../http/on-error';
import { openApiDocument } from './document';

/** The documented methods of each documented path, as matchers (the coverage test keeps the document complete). */
export function documentedRouteMethods(): RouteMethods[] {
  return Object.entries(openApiDocument().paths as Record<string, Record<string, unknown>>).map(([path, ops]) => ({
    pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    methods: Object.keys(ops).map((m) => m.toUpperCase()),
  }));
}
