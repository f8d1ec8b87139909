/** The account's routes assembled, mounted at `/account` by src/index.ts. */
import { activityRoutes } from './activity.tsx';
import { addKeyRoutes } from './add-key.tsx';
import { keyRoutes } from './keys.tsx';
import { accountRoutes } from './routes.tsx';

accountRoutes.route('/', keyRoutes);
accountRoutes.route('/', activityRoutes);
accountRoutes.route('/', addKeyRoutes);

export { accountRoutes as accountApp };
