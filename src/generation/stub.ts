import type { GenerationCoordinator } from './coordinator';

/** The coordinator of one artifact key (the generated Env types leave the namespace untyped). */
export function coordinatorFor(env: Env, artifactKey: string): DurableObjectStub<GenerationCoordinator> {
  const namespace = env.COORDINATOR as unknown as DurableObjectNamespace<GenerationCoordinator>;
  return namespace.get(namespace.idFromName(artifactKey));
}
