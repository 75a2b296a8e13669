"""refglm.glm."""
