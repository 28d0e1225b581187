import type { RouteMethods } from '../http/on-error';
import { openApiDocument } from './document';
import { internalOpenApiDocument } from './internal-document';

/** Every documented path, public and internal, with its documented methods (the coverage test keeps both documents complete). */
export function documentedPaths(): Record<string, Record<string, unknown>> {
  return { ...(openApiDocument().paths as Record<string, Record<string, unknown>>), ...(internalOpenApiDocument().paths as Record<string, Record<string, unknown>>) };
}

/** The documented methods of each documented path, as matchers. */
export function documentedRouteMethods(): RouteMethods[] {
  return Object.entries(documentedPaths()).map(([path, ops]) => ({
    pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    methods: Object.keys(ops).map((m) => m.toUpperCase()),
  }));
}
